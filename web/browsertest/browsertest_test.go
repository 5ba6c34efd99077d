package browsertest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/qrtn/qrtn/web/browsertest"
)

// TestLoopbackDecodesInSeveralTabs checks the harness end to end on a static
// page: one browser, three isolated tabs, each with the fake camera and
// microphone in a loopback call, each decoding video and receiving audio.
func TestLoopbackDecodesInSeveralTabs(t *testing.T) {
	b := browsertest.StartT(t, browsertest.Options{})
	srv := httptest.NewServer(http.FileServer(http.Dir("testdata")))
	defer srv.Close()

	pages := make([]*browsertest.Page, 3)
	for i := range pages {
		pages[i] = b.OpenT(t, srv.URL+"/loopback.html")
	}
	ctx := context.Background()
	for _, p := range pages {
		s, err := p.WaitStats(ctx, 30*time.Second, "decoded loopback video and audio", func(s browsertest.Stats) bool {
			return s.Joined && s.Decoding("loop", 20, 1000)
		})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := s.Track("loop", "video")
		if v.FrameWidth == 0 || v.FrameHeight == 0 {
			t.Errorf("decoded video has no size: %s", s)
		}
	}
}

func TestEvalAndTimeout(t *testing.T) {
	b := browsertest.StartT(t, browsertest.Options{})
	p := b.OpenT(t, "about:blank")
	ctx := context.Background()

	var n int
	if err := p.Eval(ctx, `new Promise((r) => setTimeout(() => r(6 * 7), 10))`, &n); err != nil || n != 42 {
		t.Fatalf("eval = %d, %v; want 42", n, err)
	}
	if err := p.Eval(ctx, `(() => { throw new Error("boom") })()`, nil); err == nil {
		t.Fatal("a throwing script gave no error")
	}
	// about:blank has no window.qrtn: the wait must end, with ErrTimeout.
	_, err := p.WaitStats(ctx, 600*time.Millisecond, "a join that never comes", func(s browsertest.Stats) bool { return s.Joined })
	if !errors.Is(err, browsertest.ErrTimeout) {
		t.Fatalf("WaitStats on a page without qrtn: %v, want ErrTimeout", err)
	}
}

// TestCloseStopsTheBrowser checks that Close ends the process and removes
// the user-data-dir, so test runs do not leak browsers.
func TestCloseStopsTheBrowser(t *testing.T) {
	browsertest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := browsertest.Start(ctx, browsertest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := b.PID()
	if pid == 0 {
		t.Fatal("no browser pid")
	}
	b.OpenT(t, "about:blank")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The process was reaped by the allocator: signal 0 must fail.
	if proc, err := os.FindProcess(pid); err == nil {
		if err := proc.Signal(syscall.Signal(0)); err == nil {
			t.Fatalf("browser process %d still runs after Close", pid)
		}
	}
	if _, err := b.Open(ctx, "about:blank"); err == nil {
		t.Fatal("Open after Close succeeded")
	}
}
