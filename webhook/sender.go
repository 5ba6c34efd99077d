package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Config configures delivery (the node's `webhooks` YAML section).
type Config struct {
	// URLs receive every event.
	URLs []string `yaml:"urls"`
	// Secret signs deliveries; default: the node's API secret.
	Secret string `yaml:"secret"`
	// QueueSize bounds the events waiting per URL (default 10000); beyond,
	// new events are dropped and counted.
	QueueSize int `yaml:"queue_size"`
	// RetryFor is the retry window: an event not delivered this long after
	// it happened is dropped and counted (default 10 min).
	RetryFor time.Duration `yaml:"retry_for"`
	// Timeout bounds one POST (default 5 s).
	Timeout time.Duration `yaml:"timeout"`
	// MinBackoff and MaxBackoff bound the wait between attempts, doubling
	// from the first to the second (defaults 500 ms and 30 s).
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// WithDefaults fills empty fields.
func (c Config) WithDefaults() Config {
	if c.QueueSize <= 0 {
		c.QueueSize = 10_000
	}
	if c.RetryFor <= 0 {
		c.RetryFor = 10 * time.Minute
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(30*time.Second, c.MinBackoff)
	}
	return c
}

// Sender delivers events to the configured URLs, one goroutine per URL.
// Close it.
type Sender struct {
	cfg    Config
	node   string
	region string
	client *http.Client
	log    *slog.Logger
	urls   []*target
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

type target struct {
	url  string
	mu   sync.Mutex
	q    queue
	kick chan struct{}
}

// New validates the URLs and starts one delivery goroutine per URL. node
// and region are stamped on every event.
func New(cfg Config, node, region string, logger *slog.Logger) (*Sender, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.WithDefaults()
	if cfg.Secret == "" {
		return nil, errors.New("webhook: a signing secret is required")
	}
	s := &Sender{cfg: cfg, node: node, region: region, log: logger, stop: make(chan struct{}),
		client: &http.Client{Timeout: cfg.Timeout}}
	for _, u := range cfg.URLs {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("webhook: url %q: want http(s)://host/path", u)
		}
		s.urls = append(s.urls, &target{url: u, q: queue{cfg: cfg}, kick: make(chan struct{}, 1)})
	}
	for _, t := range s.urls {
		s.wg.Add(1)
		go s.deliver(t)
	}
	return s, nil
}

// Notify queues an event for every URL and returns at once. It fills the
// ID, time, node and region when empty.
func (s *Sender) Notify(ev Event) {
	now := time.Now()
	if ev.ID == "" {
		ev.ID = "EV_" + randomID()
	}
	if ev.CreatedAt == 0 {
		ev.CreatedAt = now.UnixMilli()
	}
	if ev.Node == "" {
		ev.Node, ev.Region = s.node, s.region
	}
	body, err := json.Marshal(ev)
	if err != nil {
		s.log.Error("webhook event", "err", err)
		return
	}
	for _, t := range s.urls {
		t.mu.Lock()
		ok := t.q.push(now, ev, body)
		t.mu.Unlock()
		if !ok {
			s.log.Warn("webhook queue full: event dropped", "url", t.url, "event", ev.Event)
		}
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}
}

// deliver is one URL's goroutine: it POSTs the head of the queue, waits
// out the back-off after a failure, and sleeps while the queue is empty.
func (s *Sender) deliver(t *target) {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		t.mu.Lock()
		it, wait, any := t.q.next(time.Now())
		t.mu.Unlock()
		if it.body != nil {
			ok := s.post(t.url, it)
			t.mu.Lock()
			t.q.result(time.Now(), ok)
			t.mu.Unlock()
			continue
		}
		if !any {
			wait = time.Hour
		}
		timer.Reset(wait)
		select {
		case <-s.stop:
			return
		case <-t.kick:
		case <-timer.C:
		}
	}
}

// post makes one attempt, signed at the time of sending.
func (s *Sender) post(u string, it item) bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(it.body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSignature, Sign(s.cfg.Secret, time.Now(), it.body))
	req.Header.Set(HeaderEventID, it.ev.ID)
	req.Header.Set(HeaderEvent, it.ev.Event)
	resp, err := s.client.Do(req)
	if err != nil {
		s.log.Debug("webhook delivery", "url", u, "event", it.ev.ID, "err", err)
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// URLStats are one URL's delivery figures.
type URLStats struct {
	URL                           string
	Queued                        int
	Delivered, Attempts, Failures uint64
	Dropped, Expired              uint64
	LastLatency                   time.Duration // happened → delivered, of the last delivery
}

// Stats returns every URL's figures.
func (s *Sender) Stats() []URLStats {
	out := make([]URLStats, 0, len(s.urls))
	for _, t := range s.urls {
		t.mu.Lock()
		q := &t.q
		out = append(out, URLStats{URL: t.url, Queued: len(q.items), Delivered: q.delivered, Attempts: q.attempts,
			Failures: q.failures, Dropped: q.dropped, Expired: q.expired, LastLatency: q.lastLatency})
		t.mu.Unlock()
	}
	return out
}

// Close gives the queues up to flush to drain, then stops delivery.
// Undelivered events are lost (counted as queued in the last Stats).
func (s *Sender) Close(flush time.Duration) {
	s.once.Do(func() {
		deadline := time.Now().Add(flush)
		for time.Now().Before(deadline) {
			empty := true
			for _, st := range s.Stats() {
				if st.Queued > 0 {
					empty = false
				}
			}
			if empty {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		close(s.stop)
		s.wg.Wait()
	})
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}
