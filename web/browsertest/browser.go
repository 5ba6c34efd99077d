// Package browsertest runs a real headless Chromium for tests: it starts the
// browser with a fake camera and microphone and the flags that make WebRTC
// work headless as root, opens pages in isolated tabs, evaluates JavaScript,
// reads the demo page's window.qrtn.stats() and waits for conditions with
// bounded timeouts.
//
// It drives a browser and knows the demo page's testing contract
// (architecture.md, "Contracts"); it must not know the node, pion or rooms.
// One Browser with several Pages is much cheaper than several browsers:
// tabs share one browser process and one GPU/network process.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium is returned by Start when no Chromium executable is found.
var ErrNoChromium = errors.New("browsertest: no chromium executable found (install Debian's chromium: apt-get install -y chromium; or set QRTN_CHROMIUM)")

// candidates are the executables Start tries, in order, after $QRTN_CHROMIUM.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// FindChromium returns the path of the Chromium to run: $QRTN_CHROMIUM when
// set, else the first of chromium, chromium-browser, google-chrome on $PATH.
func FindChromium() (string, error) {
	if p := os.Getenv("QRTN_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("QRTN_CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Options configure a Browser. The zero value works.
type Options struct {
	// ExecPath is the Chromium executable; empty means FindChromium.
	ExecPath string
	// Flags are extra command-line flags (name without dashes → value; true
	// for a bare flag, false to remove a default one).
	Flags map[string]any
	// Logf, when set, receives the pages' console messages and exceptions.
	Logf func(format string, args ...any)
	// FakeVideo, when set, is a .y4m or .mjpeg file that the fake camera plays
	// instead of its generated test pattern.
	FakeVideo string
	// FakeAudio, when set, is a .wav file that the fake microphone plays in
	// a loop instead of its beeps (WriteSpeechWAV makes one a speaker
	// detector takes for speech).
	FakeAudio string
}

// Flags returns the command-line flags Start gives Chromium (besides
// chromedp's headless defaults): the ones environment.md lists for headless
// WebRTC as root, with fake media devices.
func Flags() map[string]any {
	return map[string]any{
		"no-sandbox":                             true,
		"use-fake-device-for-media-stream":       true,
		"use-fake-ui-for-media-stream":           true,
		"autoplay-policy":                        "no-user-gesture-required",
		"disable-background-networking":          true,
		"disable-component-update":               true,
		"disable-sync":                           true,
		"no-first-run":                           true,
		"disable-gpu":                            true,
		"mute-audio":                             true,
		"disable-background-timer-throttling":    true,
		"disable-renderer-backgrounding":         true,
		"disable-backgrounding-occluded-windows": true,
		// Host candidates as plain addresses, not mDNS names: the node may not
		// resolve .local names inside a container.
		"disable-features": "Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns",
	}
}

// Browser is one running Chromium process. Close it.
type Browser struct {
	ctx         context.Context // the browser's first tab; new pages derive from it
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
	dataDir     string
	logf        func(string, ...any)
	pid         int

	mu     sync.Mutex
	pages  map[*Page]struct{}
	closed bool
}

// Start launches Chromium with Flags(), a temporary user-data-dir and
// opts.Flags. ctx bounds only the start; the browser lives until Close.
func Start(ctx context.Context, opts Options) (*Browser, error) {
	path := opts.ExecPath
	if path == "" {
		p, err := FindChromium()
		if err != nil {
			return nil, err
		}
		path = p
	}
	dir, err := os.MkdirTemp("", "qrtn-chromium-")
	if err != nil {
		return nil, fmt.Errorf("browsertest: user-data-dir: %w", err)
	}
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.UserDataDir(dir))
	flags := Flags()
	if opts.FakeVideo != "" {
		flags["use-file-for-fake-video-capture"] = opts.FakeVideo
	}
	if opts.FakeAudio != "" {
		flags["use-file-for-fake-audio-capture"] = opts.FakeAudio
	}
	for k, v := range opts.Flags {
		flags[k] = v
	}
	for k, v := range flags {
		allocOpts = append(allocOpts, chromedp.Flag(k, v))
	}
	// The browser's lifetime must not be bounded by the caller's ctx: only
	// the start is. chromedp ties the process to the context of its first Run.
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.WithoutCancel(ctx), allocOpts...)
	bctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: bctx, cancel: cancel, allocCancel: allocCancel, dataDir: dir, logf: opts.Logf, pages: map[*Page]struct{}{}}

	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err = <-started:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		b.shutdown()
		return nil, fmt.Errorf("browsertest: starting %s: %w", path, err)
	}
	if c := chromedp.FromContext(bctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		b.pid = c.Browser.Process().Pid
	}
	return b, nil
}

// PID is the browser process's id (0 if unknown).
func (b *Browser) PID() int { return b.pid }

// Close closes every page, stops the browser process and removes its
// user-data-dir. It is safe to call more than once.
func (b *Browser) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	pages := make([]*Page, 0, len(b.pages))
	for p := range b.pages {
		pages = append(pages, p)
	}
	b.mu.Unlock()
	for _, p := range pages {
		p.Close()
	}
	return b.shutdown()
}

func (b *Browser) shutdown() error {
	b.cancel()      // closes the first tab and, as its owner, the browser
	b.allocCancel() // waits for the process to exit
	if err := os.RemoveAll(b.dataDir); err != nil {
		return fmt.Errorf("browsertest: removing %s: %w", b.dataDir, err)
	}
	return nil
}

// Open opens url in a new tab with its own browser context (cookies and
// storage are not shared with other pages, like separate users) and waits
// for the page to load. ctx bounds only the navigation.
func (b *Browser) Open(ctx context.Context, url string) (*Page, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errors.New("browsertest: browser closed")
	}
	b.mu.Unlock()
	pctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	p := &Page{ctx: pctx, cancel: cancel, b: b, url: url, logDone: make(chan struct{})}
	// Create the tab first (its lifetime is pctx's), then subscribe to its
	// console before navigating so that no early message is lost.
	if err := chromedp.Do(pctx); err != nil {
		cancel()
		return nil, fmt.Errorf("browsertest: new tab: %w", err)
	}
	p.startConsole()
	b.mu.Lock()
	b.pages[p] = struct{}{}
	b.mu.Unlock()
	nctx, ncancel := context.WithTimeout(pctx, remaining(ctx, 30*time.Second))
	defer ncancel()
	stop := context.AfterFunc(ctx, ncancel)
	defer stop()
	if err := chromedp.Do(nctx, chromedp.Navigate(url)); err != nil {
		p.Close()
		return nil, fmt.Errorf("browsertest: open %s: %w", url, err)
	}
	return p, nil
}

// remaining is ctx's time left, or def when ctx has no deadline.
func remaining(ctx context.Context, def time.Duration) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return def
}
