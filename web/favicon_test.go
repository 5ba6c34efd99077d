package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qrtn/qrtn/web"
)

// TestFavicon: /favicon.ico, which browsers ask for on every page, is an
// SVG icon, not a 404; and the pages link the icon themselves.
func TestFavicon(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, p := range []string{"/favicon.ico", "/favicon.svg"} {
		resp, body := get(p)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
			t.Errorf("%s: %s %q, %d bytes", p, resp.Status, resp.Header.Get("Content-Type"), len(body))
		}
	}
	for _, p := range []string{"/", "/network.html"} {
		if _, body := get(p); !strings.Contains(body, `rel="icon" href="favicon.svg"`) {
			t.Errorf("%s does not link the icon", p)
		}
	}
}
