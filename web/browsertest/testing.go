package browsertest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// SkipEnv is the environment variable that skips browser tests when set to 1.
const SkipEnv = "QRTN_SKIP_BROWSER"

// Require skips the test when QRTN_SKIP_BROWSER=1 and fails it with a clear
// message when no Chromium is installed (CI installs it, so a missing
// browser is a broken machine, not a reason to pass silently).
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s=1: skipping a browser test", SkipEnv)
	}
	if _, err := FindChromium(); err != nil {
		t.Fatalf("%v; or set %s=1 to skip browser tests", err, SkipEnv)
	}
}

// StartT is Exclusive (which calls Require) plus Start for tests: the test
// waits for the machine's browser turn, the browser's console goes to
// t.Logf, and it is closed when the test ends.
func StartT(t testing.TB, opts Options) *Browser {
	t.Helper()
	Exclusive(t)
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, opts)
	if errors.Is(err, ErrNoChromium) {
		t.Fatalf("%v; or set %s=1 to skip browser tests", err, SkipEnv)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("closing the browser: %v", err)
		}
	})
	return b
}

// OpenT opens a page for a test and fails the test if it cannot. The page
// closes with the browser, or earlier with Close.
func (b *Browser) OpenT(t testing.TB, url string) *Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := b.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}
