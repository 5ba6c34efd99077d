package browsertest

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/chromedp"
)

// Viewport resizes the page's viewport, as a desktop window (mobile false)
// or a phone screen (mobile true, touch and a device scale of 3), so that a
// test can look at a page at 1280×800 and at 390×844.
func (p *Page) Viewport(ctx context.Context, width, height int, mobile bool) error {
	vctx, cancel := context.WithTimeout(p.ctx, remaining(ctx, 30*time.Second))
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if _, err := chromedp.Run(vctx, chromedp.EmulateViewport(int64(width), int64(height), opts...)); err != nil {
		return fmt.Errorf("browsertest: viewport: %w", err)
	}
	return nil
}

// FullScreenshot returns a PNG of the whole page, beyond the viewport.
func (p *Page) FullScreenshot(ctx context.Context) ([]byte, error) {
	sctx, cancel := context.WithTimeout(p.ctx, remaining(ctx, 30*time.Second))
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		return nil, fmt.Errorf("browsertest: screenshot: %w", err)
	}
	return png, nil
}
