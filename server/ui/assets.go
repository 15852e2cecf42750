package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
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

// scripts are the UI's scripts, in the order they load: served as one
// file, app.js, so that a page load is one request for them, not seven.
var scripts = []string{"util.js", "chart.js", "table.js", "run.js", "parallel.js", "compare.js", "main.js"}

// Pages serves the UI's page at / and its files under /ui/.
type Pages struct {
	files fs.FS
	// built holds what is served other than as embedded: the page, whose
	// links carry each file's hash, and the scripts as one.
	built map[string][]byte
	// hashes name each file's content: a request that names the hash
	// the file has may be cached for good.
	hashes map[string]string
}

// NewPages returns the UI's pages.
func NewPages() *Pages {
	sub, err := fs.Sub(assets, "web/assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	p := &Pages{files: sub, built: map[string][]byte{}, hashes: map[string]string{}}
	var bundle []byte
	for _, name := range scripts {
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			panic(err)
		}
		bundle = append(append(bundle, b...), '\n')
	}
	p.built["app.js"] = bundle
	page, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	html := string(page)
	for _, name := range []string{"app.js", "app.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css"} {
		b, ok := p.built[name]
		if !ok {
			if b, err = fs.ReadFile(sub, name); err != nil {
				panic(err)
			}
		}
		sum := sha256.Sum256(b)
		p.hashes[name] = hex.EncodeToString(sum[:8])
		html = strings.Replace(html, `"/ui/`+name+`"`, `"/ui/`+name+`?v=`+p.hashes[name]+`"`, 1)
	}
	p.built["index.html"] = []byte(html)
	return p
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
	b, ok := p.built[name]
	if !ok {
		var err error
		if b, err = fs.ReadFile(p.files, name); err != nil {
			http.NotFound(w, r)
			return
		}
	}
	h := w.Header()
	if v := r.URL.Query().Get("v"); v != "" && v == p.hashes[name] {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
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
