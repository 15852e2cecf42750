package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// The UI's files, built by web/build.sh and committed, so that go build
// alone gives a working UI, offline.
//
//go:embed web/assets
var assets embed.FS

// csp lets the page load its own files and nothing else: no inline
// script or style, no other origin, no frames, no plugins.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
	"font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Pages serves the UI's page at / and its files under /ui/.
type Pages struct{ files fs.FS }

// NewPages returns the UI's pages.
func NewPages() *Pages {
	sub, err := fs.Sub(assets, "web/assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return &Pages{files: sub}
}

// Serves tells whether p is a path of the UI's pages.
func (p *Pages) Serves(urlPath string) bool {
	return urlPath == "/" || (strings.HasPrefix(urlPath, "/ui/") && !strings.HasPrefix(urlPath, Prefix))
}

// ServeHTTP answers a request for the page or one of its files.
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	name := "index.html"
	if r.URL.Path != "/" {
		name = strings.TrimPrefix(path.Clean(r.URL.Path), "/ui/")
	}
	b, err := fs.ReadFile(p.files, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Type", contentType(name))
	w.Write(b)
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}
