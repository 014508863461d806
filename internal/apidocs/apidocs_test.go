package apidocs_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/internal/apidocs"
)

const specURL = "/openapi.json"

func get(t *testing.T, h http.Handler, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	// attrURL finds every URL-bearing attribute; the page must load nothing from another host.
	attrURL = regexp.MustCompile(`(?i)\b(src|href|spec-url|action|srcset)\s*=\s*"([^"]*)"`)
	absURL  = regexp.MustCompile(`(?i)https?:|//`)
)

func TestPage(t *testing.T) {
	h := apidocs.Handler(specURL)
	for _, path := range []string{"/docs", "/docs/"} {
		res := get(t, h, path)
		page := string(body(t, res))
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %q", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if m := absURL.FindString(page); m != "" {
			t.Errorf("the page mentions an absolute or protocol-relative URL (%q):\n%s", m, page)
		}
		refs := attrURL.FindAllStringSubmatch(page, -1)
		var sawScript, sawSpec bool
		for _, m := range refs {
			switch u := m[2]; {
			case u == specURL:
				sawSpec = true
			case strings.HasPrefix(u, apidocs.AssetsPath):
				sawScript = true
				if a := get(t, h, u); a.StatusCode != http.StatusOK {
					t.Errorf("the page refers to %s, which answers %d", u, a.StatusCode)
				}
			default:
				t.Errorf("the page refers to %s=%q, outside %s and the spec", m[1], u, apidocs.AssetsPath)
			}
		}
		if !sawScript || !sawSpec {
			t.Errorf("the page should load the renderer and the spec:\n%s", page)
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self';") {
			t.Errorf("CSP %q", csp)
		}
	}
}

func TestSpecURLIsEscaped(t *testing.T) {
	h := apidocs.Handler(`/spec.json?a=1&b="><script>`)
	page := string(body(t, get(t, h, "/docs")))
	if strings.Contains(page, `"><script>`) {
		t.Errorf("spec URL not escaped:\n%s", page)
	}
	res := get(t, apidocs.Handler("https://api.example.com/openapi.json"), "/docs")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://api.example.com;") {
		t.Errorf("a spec on another origin must be allowed by the CSP: %q", csp)
	}
}

func TestAsset(t *testing.T) {
	h := apidocs.Handler(specURL)
	want, err := os.ReadFile("assets/rapidoc-min.js")
	if err != nil {
		t.Fatal(err)
	}
	res := get(t, h, apidocs.AssetsPath+"rapidoc-min.js")
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/javascript") {
		t.Fatalf("asset: %d %q", res.StatusCode, ct)
	}
	if got := body(t, res); !bytes.Equal(got, want) {
		t.Errorf("asset body differs from the vendored file (%d bytes, want %d)", len(got), len(want))
	}
	if !bytes.HasPrefix(want, []byte("/*! RapiDoc 9.3.8 ")) {
		t.Errorf("the vendored file is not RapiDoc 9.3.8 as the package comment says: %.60s", want)
	}

	// Compressed for clients that take gzip, under its own ETag.
	gz := get(t, h, apidocs.AssetsPath+"rapidoc-min.js", "Accept-Encoding", "br, gzip")
	if gz.Header.Get("Content-Encoding") != "gzip" || gz.Header.Get("ETag") == res.Header.Get("ETag") {
		t.Fatalf("gzip: encoding %q, etags %q %q", gz.Header.Get("Content-Encoding"), gz.Header.Get("ETag"), res.Header.Get("ETag"))
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, want) {
		t.Errorf("gzip body does not decompress to the asset: %v", err)
	}
	if res := get(t, h, apidocs.AssetsPath+"rapidoc-min.js", "Accept-Encoding", "gzip;q=0"); res.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 refuses gzip")
	}

	// Revalidation instead of a second download.
	if res := get(t, h, apidocs.AssetsPath+"rapidoc-min.js", "If-None-Match", res.Header.Get("ETag")); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", res.StatusCode)
	}

	lic := get(t, h, apidocs.AssetsPath+"rapidoc-min.js.LICENSE.txt")
	if !strings.HasPrefix(lic.Header.Get("Content-Type"), "text/plain") || !strings.Contains(string(body(t, lic)), "MIT License") {
		t.Errorf("license: %q", lic.Header.Get("Content-Type"))
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := apidocs.Handler(specURL)
	for _, path := range []string{"/docs/assets/", "/docs/assets/nope.js", "/docs/assets/../apidocs.go", "/docs/other", "/"} {
		if res := get(t, h, path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/docs", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /docs: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/docs", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD /docs: %d with %d bytes", rec.Code, rec.Body.Len())
	}
}
