// Package keys makes and checks tenant API keys and secret keys. Keys are random and shown once;
// only their SHA-256 hashes are stored. A keyed hash or a slow hash buys nothing here: the keys carry
// 192 bits of randomness, so a stolen hash cannot be reversed by guessing.
package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
)

// Prefixes make a leaked key recognisable (and searchable by secret scanners) and tell the two kinds apart.
const (
	APIKeyPrefix    = "tly_pk_"
	SecretKeyPrefix = "tly_sk_"
)

var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// New returns a fresh random key with the given prefix.
func New(prefix string) (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("keys: random: %w", err)
	}
	return prefix + strings.ToLower(encoding.EncodeToString(b[:])), nil
}

// Hash returns the hex SHA-256 of key, the form in which keys are stored and looked up.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Matches reports whether key hashes to storedHash, in time independent of where they differ.
func Matches(key, storedHash string) bool {
	h := Hash(key)
	return subtle.ConstantTimeCompare([]byte(h), []byte(storedHash)) == 1
}
