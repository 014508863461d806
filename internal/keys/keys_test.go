package keys

import (
	"strings"
	"testing"
)

func TestNewKeysAreDistinctAndPrefixed(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k, err := New(SecretKeyPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(k, SecretKeyPrefix) || len(k) != len(SecretKeyPrefix)+39 {
			t.Fatalf("key %q: want prefix %q and 39 random characters", k, SecretKeyPrefix)
		}
		if seen[k] {
			t.Fatalf("key %q made twice", k)
		}
		seen[k] = true
	}
}

func TestMatches(t *testing.T) {
	k, err := New(APIKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	h := Hash(k)
	if strings.Contains(h, k) || len(h) != 64 {
		t.Fatalf("hash %q must be 64 hex characters and not hold the key", h)
	}
	if !Matches(k, h) {
		t.Fatal("key does not match its own hash")
	}
	if Matches(k+"x", h) || Matches("", h) {
		t.Fatal("a different key matched")
	}
}
