// Package apidocs serves the human-readable API documentation: a page that renders the OpenAPI
// document with RapiDoc. Everything the page loads is embedded in the binary and served from
// /docs/assets/, so the docs work on a machine without internet access.
//
// The renderer is the npm package rapidoc@9.3.8, file dist/rapidoc-min.js, vendored unchanged
// (sha256 affbd173a65e870e18f392cca963113bcdafb6e50e88cd2f6a834a65b22db94d); its license and the
// notices of the code it bundles are in assets/rapidoc-min.js.LICENSE.txt. To update it:
//
//	npm pack rapidoc@VERSION && tar xzf rapidoc-VERSION.tgz package/dist/rapidoc-min.js
//
// then copy the file over, update the license file, this comment and the version in the tests.
package apidocs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// AssetsPath is the URL path under which the page's assets are served.
const AssetsPath = "/docs/assets/"

//go:embed assets/rapidoc-min.js assets/rapidoc-min.js.LICENSE.txt
var assetFS embed.FS

// page renders the spec at the URL it is given. RapiDoc would fetch Open Sans from Google Fonts
// unless load-fonts is "false"; it uses the system's fonts instead. The CSP header is the second
// line of defence: should a future version try to reach another host anyway, the browser refuses.
var page = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API documentation</title>
<script type="module" src="` + AssetsPath + `rapidoc-min.js"></script>
</head>
<body>
<rapi-doc spec-url="{{.}}"
  load-fonts="false"
  regular-font="system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
  mono-font="ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"
  render-style="read"
  show-header="false"
  allow-spec-url-load="false"
  allow-spec-file-load="false"
  allow-authentication="true"
  allow-try="true"></rapi-doc>
<noscript>This page needs JavaScript. The OpenAPI document is at <a href="{{.}}">{{.}}</a>.</noscript>
</body>
</html>
`))

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
	gzipped     func() []byte // compressed on first use: most processes never serve the docs
}

// Handler serves GET /docs, a page rendering the OpenAPI document at specURL, and the page's
// assets under /docs/assets/. It expects the full request path: mount it at "GET /docs" and
// "GET /docs/" without stripping the prefix.
func Handler(specURL string) http.Handler {
	var buf bytes.Buffer
	if err := page.Execute(&buf, specURL); err != nil {
		// Executing a fixed template into memory fails only if the template itself is broken.
		panic(fmt.Sprintf("apidocs: render page: %v", err))
	}
	h := &handler{page: buf.Bytes(), csp: contentSecurityPolicy(specURL), assets: map[string]*asset{}}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assetFS.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(p))
		if path.Ext(p) == ".js" {
			ct = "text/javascript; charset=utf-8" // do not depend on the host's MIME tables for the one that matters
		}
		h.assets[path.Base(p)] = &asset{
			body:        body,
			contentType: ct,
			etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
			gzipped:     sync.OnceValue(func() []byte { return compress(body) }),
		}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("apidocs: load embedded assets: %v", err)) // the embedded files are part of the build
	}
	return h
}

type handler struct {
	page   []byte
	csp    string
	assets map[string]*asset
}

// ServeHTTP serves the page or one asset.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch p := r.URL.Path; {
	case p == "/docs" || p == "/docs/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", h.csp)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.page))
	case strings.HasPrefix(p, AssetsPath) && h.assets[strings.TrimPrefix(p, AssetsPath)] != nil:
		h.serveAsset(w, r, h.assets[strings.TrimPrefix(p, AssetsPath)])
	default:
		http.NotFound(w, r)
	}
}

// serveAsset serves a, compressed when the client takes gzip: the renderer is 850 KB, 210 KB
// compressed. The ETag lets browsers revalidate instead of downloading it again.
func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "public, max-age=3600")
	hdr.Add("Vary", "Accept-Encoding")
	body, etag := a.body, a.etag
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = a.gzipped(), strings.TrimSuffix(a.etag, `"`)+`-gz"`
		hdr.Set("Content-Encoding", "gzip")
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func compress(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid, so no error
	_, _ = zw.Write(b)                                       // writes to memory cannot fail
	_ = zw.Close()
	return buf.Bytes()
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip ("gzip;q=0" refuses it).
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		return !ok || strings.Trim(q, "0.") != ""
	}
	return false
}

// contentSecurityPolicy allows the page to load only from its own origin, plus the origin of the
// spec when that is another one. "Try it" requests go to the document's servers; they are
// same-origin for this server's own document, and other origins are refused, in keeping with a page
// that must not reach the internet. Styles must allow 'unsafe-inline' because RapiDoc's web
// components set style attributes.
func contentSecurityPolicy(specURL string) string {
	connect := "'self'"
	if u, err := url.Parse(specURL); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		connect += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"font-src 'self' data:; connect-src " + connect + "; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
}
