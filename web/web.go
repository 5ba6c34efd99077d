// Package web serves the embedded demo pages and the small JS client that
// browsers use to join qrtn rooms. Everything is embedded with go:embed, so
// there is no build step. It knows HTTP and files; it must not know pion,
// rooms or QRTP.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the demo page at / and its assets. /favicon.ico, which
// browsers ask for by habit, is the pages' SVG icon.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// The embedded tree is fixed at build time; failing here is a build defect.
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Browsers ask for /favicon.ico whatever the page links; the
		// icon is an SVG.
		if r.URL.Path == "/favicon.ico" {
			w.Header().Set("Content-Type", "image/svg+xml")
			w.Header().Set("Cache-Control", "max-age=86400")
			http.ServeFileFS(w, r, sub, "favicon.svg")
			return
		}
		files.ServeHTTP(w, r)
	})
}
