package store

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qrtn/qrtn/qoe"
)

// WriterConfig tunes a Writer. Zero fields take the defaults.
type WriterConfig struct {
	// MaxPending bounds the records held in memory (50 000): while the
	// database is away they wait here; beyond it new ones are dropped
	// and counted.
	MaxPending int
	// FlushEvery is the longest a record waits before a write (1 s);
	// MaxBatch the most records one transaction writes (5000).
	FlushEvery time.Duration
	MaxBatch   int
	// Retention deletes records older than this (0: keep for ever),
	// checked every PruneEvery (10 min).
	Retention  time.Duration
	PruneEvery time.Duration
	// WriteTimeout bounds one transaction (10 s).
	WriteTimeout time.Duration
}

func (c WriterConfig) withDefaults() WriterConfig {
	if c.MaxPending <= 0 {
		c.MaxPending = 50_000
	}
	if c.FlushEvery <= 0 {
		c.FlushEvery = time.Second
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 5000
	}
	if c.PruneEvery <= 0 {
		c.PruneEvery = 10 * time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	return c
}

// WriterStats are a Writer's counters.
type WriterStats struct {
	Pending  int    `json:"pending"`
	Written  uint64 `json:"written"`
	Dropped  uint64 `json:"dropped"`
	Failures uint64 `json:"failures"` // failed transactions (each retried)
	Pruned   uint64 `json:"pruned"`
	// Healthy is false from a failed write until the next one succeeds.
	Healthy   bool   `json:"healthy"`
	LastError string `json:"last_error,omitempty"`
}

// Writer queues records and writes them in batches from one goroutine, so
// that whoever makes records never waits on the database. While writes
// fail it keeps the records (up to MaxPending), retries with back-off, and
// resumes by itself when the database is back.
type Writer struct {
	s   atomic.Pointer[Store]
	dsn string // opened on first write when s is nil (OpenWriter)
	cfg WriterConfig
	log *slog.Logger

	mu      sync.Mutex
	pending []qoe.Record
	lastErr string

	written, dropped, failures, pruned atomic.Uint64
	healthy                            atomic.Bool

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewWriter starts a writer into s. Close it to flush and stop.
func NewWriter(s *Store, cfg WriterConfig, logger *slog.Logger) *Writer {
	w := newWriter(cfg, logger)
	w.s.Store(s)
	go w.run()
	return w
}

// OpenWriter is NewWriter for a database that may not answer yet: the
// writer opens (and migrates) it on its first write and keeps trying, with
// records waiting as during an outage. Store returns nil until then.
func OpenWriter(dsn string, cfg WriterConfig, logger *slog.Logger) *Writer {
	w := newWriter(cfg, logger)
	w.dsn = dsn
	go w.run()
	return w
}

func newWriter(cfg WriterConfig, logger *slog.Logger) *Writer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{cfg: cfg.withDefaults(), log: logger, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	w.healthy.Store(true)
	return w
}

// Store is the database written to; nil while OpenWriter has not opened
// it yet.
func (w *Writer) Store() *Store { return w.s.Load() }

// store opens the database if it is not open yet.
func (w *Writer) store(ctx context.Context) (*Store, error) {
	if s := w.s.Load(); s != nil {
		return s, nil
	}
	s, err := Open(ctx, w.dsn)
	if err != nil {
		return nil, err
	}
	w.s.Store(s)
	w.log.Info("quality store open", "store", s.String())
	return s, nil
}

// Add queues a record. It never blocks; it reports false when the record
// was dropped because MaxPending records wait already.
func (w *Writer) Add(r qoe.Record) bool {
	w.mu.Lock()
	if len(w.pending) >= w.cfg.MaxPending {
		w.mu.Unlock()
		w.dropped.Add(1)
		return false
	}
	w.pending = append(w.pending, r)
	full := len(w.pending) >= w.cfg.MaxBatch
	w.mu.Unlock()
	if full {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// Stats snapshots the counters.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	n, e := len(w.pending), w.lastErr
	w.mu.Unlock()
	return WriterStats{Pending: n, Written: w.written.Load(), Dropped: w.dropped.Load(), Failures: w.failures.Load(),
		Pruned: w.pruned.Load(), Healthy: w.healthy.Load(), LastError: e}
}

// Flush writes what is pending now (for tests and shutdown).
func (w *Writer) Flush(ctx context.Context) error {
	for {
		w.mu.Lock()
		n := len(w.pending)
		w.mu.Unlock()
		if n == 0 {
			return nil
		}
		if err := w.writeBatch(ctx); err != nil {
			return err
		}
	}
}

// Close writes what it can within one write timeout and stops.
func (w *Writer) Close() error {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.WriteTimeout)
	defer cancel()
	return w.Flush(ctx)
}

func (w *Writer) run() {
	defer close(w.done)
	backoff := time.Duration(0)
	tick := time.NewTimer(w.cfg.FlushEvery)
	defer tick.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-w.stop:
			return
		case <-w.wake:
			if backoff > 0 {
				continue // the timer brings the retry
			}
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.WriteTimeout)
		err := w.writeBatch(ctx)
		cancel()
		switch {
		case err != nil:
			backoff = min(max(2*backoff, w.cfg.FlushEvery), 10*time.Second)
		default:
			backoff = 0
			if w.cfg.Retention > 0 && time.Since(lastPrune) >= w.cfg.PruneEvery {
				lastPrune = time.Now()
				w.prune()
			}
		}
		tick.Reset(max(backoff, w.cfg.FlushEvery))
	}
}

// writeBatch writes up to MaxBatch of the oldest pending records; on
// failure they stay pending, in order.
func (w *Writer) writeBatch(ctx context.Context) error {
	w.mu.Lock()
	n := min(len(w.pending), w.cfg.MaxBatch)
	batch := w.pending[:n:n]
	w.mu.Unlock()
	s, err := w.store(ctx)
	if n == 0 || err != nil {
		if err != nil {
			w.failed(err)
		}
		return err
	}
	err = s.Write(ctx, batch)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.failedLocked(err, s.String())
		return err
	}
	// Records added meanwhile were appended after the batch.
	w.pending = append(w.pending[:0:0], w.pending[n:]...)
	w.written.Add(uint64(n))
	if !w.healthy.Swap(true) {
		w.log.Info("quality store: writing again", "store", s.String(), "pending", len(w.pending), "dropped", w.dropped.Load())
	}
	w.lastErr = ""
	return nil
}

// failed counts a failed write (or open).
func (w *Writer) failed(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failedLocked(err, w.dsnName())
}

func (w *Writer) failedLocked(err error, where string) {
	w.failures.Add(1)
	if w.healthy.Swap(false) {
		w.log.Warn("quality store: write failed; records wait in memory", "store", where, "pending", len(w.pending), "err", err)
	}
	w.lastErr = err.Error()
}

func (w *Writer) dsnName() string {
	if s := w.s.Load(); s != nil {
		return s.String()
	}
	return redact(w.dsn)
}

func (w *Writer) prune() {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.WriteTimeout)
	defer cancel()
	s := w.s.Load()
	if s == nil {
		return
	}
	n, err := s.Prune(ctx, time.Now().Add(-w.cfg.Retention).UnixMilli())
	if err != nil {
		w.log.Warn("quality store: prune", "err", err)
		return
	}
	w.pruned.Add(uint64(n))
}
