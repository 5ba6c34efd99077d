package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// Page is one tab. Its methods may be called from one goroutine at a time;
// different pages may be driven in parallel.
type Page struct {
	ctx     context.Context
	cancel  context.CancelFunc
	b       *Browser
	url     string
	logDone chan struct{}
	once    sync.Once
}

// URL is the address the page was opened at.
func (p *Page) URL() string { return p.url }

// Close closes the tab and its browser context. Safe to call more than once.
func (p *Page) Close() {
	p.once.Do(func() {
		p.cancel()
		<-p.logDone
		p.b.mu.Lock()
		delete(p.b.pages, p)
		p.b.mu.Unlock()
	})
}

// startConsole forwards the page's console to the browser's Logf. The
// goroutine ends when the page's context ends; Close waits for it, so no log
// call happens after Close returns (t.Logf after a test ends panics).
func (p *Page) startConsole() {
	if p.b.logf == nil {
		close(p.logDone)
		return
	}
	msgs := chromedp.Console(p.ctx)
	go func() {
		defer close(p.logDone)
		for m, err := range msgs {
			if err != nil {
				return
			}
			p.b.logf("browser %s: %s", p.url, m)
		}
	}()
}

// Eval evaluates a JavaScript expression in the page, awaits it if it is a
// promise, and decodes its JSON value into out (which may be nil). ctx bounds
// the call.
func (p *Page) Eval(ctx context.Context, js string, out any) error {
	raw, err := p.evalRaw(ctx, js)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("browsertest: decoding the value of %q: %w", js, err)
	}
	return nil
}

func (p *Page) evalRaw(ctx context.Context, js string) ([]byte, error) {
	ectx, cancel := context.WithTimeout(p.ctx, remaining(ctx, 30*time.Second))
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	raw, err := chromedp.Run(ectx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("browsertest: eval %q: %w", js, err)
	}
	return raw, nil
}

// Polling and evaluation bounds. A page on a starved machine answers late,
// and a stats() that does not answer at all (a getStats promise stuck in a
// busy renderer) must not eat a whole wait: each evaluation of stats() is
// bounded and tried again.
const (
	// PollInterval is how often WaitStats and Watch ask a page for its
	// stats: often enough to see a change within half a second, rarely
	// enough that the asking does not load the renderer it measures.
	PollInterval = 500 * time.Millisecond
	// minPollInterval is the floor of Poll's interval.
	minPollInterval = 250 * time.Millisecond
	// statsEvalTimeout bounds one evaluation of stats().
	statsEvalTimeout = 10 * time.Second
	// statsAttempts is how many evaluations Stats tries.
	statsAttempts = 3
)

// statsJS is the contract's stats call; null before the page defines it.
const statsJS = `window.qrtn ? window.qrtn.stats() : null`

// Stats returns window.qrtn.stats() of the demo page. Each evaluation is
// bounded by 10 s and a failed one is tried again (three tries in all, or
// until ctx ends).
func (p *Page) Stats(ctx context.Context) (Stats, error) {
	var err error
	for i := range statsAttempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return Stats{}, err
			case <-time.After(minPollInterval):
			}
		}
		var s Stats
		if s, err = p.statsOnce(ctx); err == nil {
			return s, nil
		}
		if ctx.Err() != nil || p.ctx.Err() != nil {
			break
		}
	}
	return Stats{}, err
}

// statsOnce evaluates stats() once, within statsEvalTimeout, and stamps
// the result with the middle of the evaluation.
func (p *Page) statsOnce(ctx context.Context) (Stats, error) {
	ectx, cancel := context.WithTimeout(ctx, statsEvalTimeout)
	defer cancel()
	var s Stats
	start := time.Now()
	err := p.Eval(ectx, statsJS, &s)
	s.Took = time.Since(start)
	s.At = start.Add(s.Took / 2)
	return s, err
}

// Prefer calls window.qrtn.prefer(participant, layer) ("large" or "small").
func (p *Page) Prefer(ctx context.Context, participant, layer string) error {
	js := fmt.Sprintf(`window.qrtn.prefer(%s, %s)`, jsString(participant), jsString(layer))
	return p.Eval(ctx, js, nil)
}

// PreferFPS sets the view preference and caps the frame rate received of
// participant's video (window.qrtn.prefer(participant, layer, {fps}); 0
// takes the cap off).
func (p *Page) PreferFPS(ctx context.Context, participant, layer string, fps float64) error {
	js := fmt.Sprintf(`window.qrtn.prefer(%s, %s, {fps: %v})`, jsString(participant), jsString(layer), fps)
	return p.Eval(ctx, js, nil)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ErrTimeout is wrapped by the errors of Poll and WaitStats when the
// condition did not hold in time.
var ErrTimeout = errors.New("condition not met in time")

// Poll calls check every interval (at least 250 ms: pages are never polled
// in a tight loop) until it reports done, returns an error, or timeout
// passes (or ctx ends). On timeout the error wraps ErrTimeout and carries
// the last note check returned, which should say what was seen.
func Poll(ctx context.Context, timeout, interval time.Duration, check func(ctx context.Context) (done bool, note string, err error)) error {
	interval = max(interval, minPollInterval)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	note := ""
	for {
		done, n, err := check(ctx)
		if n != "" {
			note = n
		}
		if err != nil && ctx.Err() == nil {
			return err
		}
		if done && err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w after %v: last seen: %s", ErrTimeout, timeout, note)
		case <-t.C:
		}
	}
}

// WaitStats asks the page for its stats every PollInterval until cond holds,
// and returns the stats that satisfied it. An evaluation that fails or takes
// more than 10 s is tried again at the next tick. On timeout the error shows
// the last stats.
func (p *Page) WaitStats(ctx context.Context, timeout time.Duration, what string, cond func(Stats) bool) (Stats, error) {
	var last Stats
	err := Poll(ctx, timeout, PollInterval, func(ctx context.Context) (bool, string, error) {
		s, err := p.statsOnce(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return false, "", nil // cut by the deadline: keep the last stats seen
		case err != nil:
			return false, err.Error(), nil // the page may still be loading
		}
		last = s
		return cond(s), s.String(), nil
	})
	if err != nil {
		return last, fmt.Errorf("%s: waiting for %s: %w", p.url, what, err)
	}
	return last, nil
}

// Screenshot returns a PNG of the page's viewport, for debugging a failure.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	sctx, cancel := context.WithTimeout(p.ctx, remaining(ctx, 30*time.Second))
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		return nil, fmt.Errorf("browsertest: screenshot: %w", err)
	}
	return png, nil
}

// SetViewport sizes the page's viewport in CSS pixels (a phone is
// 390×844), as a window of that size would.
func (p *Page) SetViewport(ctx context.Context, width, height int64) error {
	vctx, cancel := context.WithTimeout(p.ctx, remaining(ctx, 30*time.Second))
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	if _, err := chromedp.Run(vctx, chromedp.EmulateViewport(width, height)); err != nil {
		return fmt.Errorf("browsertest: viewport %dx%d: %w", width, height, err)
	}
	return nil
}
