// Package node assembles one node: for an access node the SFU, the
// signaling server, the demo web page and the dev-mode token endpoint; for
// every node with peers its trunks and network page; health and Prometheus
// metrics on one HTTP port. It owns the node's lifecycle and holds no
// global state, so several nodes can run in one process (qrtn demo). It
// knows how the parts fit, not how any of them works inside.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/signaling"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/web"
)

// Node is one running access node.
type Node struct {
	cfg Config
	log *slog.Logger

	sfu   *sfu.SFU          // nil on a forwarding node
	sig   *signaling.Server // nil on a forwarding node
	trunk *trunk.Trunk      // nil without a trunk section
	edge  edge              // room API, TURN, WHIP/WHEP, webhooks (api*.go)
	join  *joiner           // /api/join and /api/ping (join.go)
	reg   *prometheus.Registry
	// quality is the quality platform's driver (quality.go); nil when
	// disabled.
	quality *qualityPlane
	ln      net.Listener
	srv     *http.Server

	closing   atomic.Bool
	draining  atomic.Bool // drain.go
	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
	serveDone chan struct{}
	started   atomic.Bool
}

// New builds a node and opens its sockets (HTTP and ICE), so that HTTPAddr
// is known before Start. A node that was created must be closed.
func New(cfg Config, logger *slog.Logger) (*Node, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: logger.With("node", cfg.Name), done: make(chan struct{}), serveDone: make(chan struct{})}
	if cfg.Role == "access" {
		if n.sfu, err = sfu.New(cfg.SFU, n.log); err != nil {
			return nil, err
		}
		n.sfu.SetPathSource(n.paths)
		sc := cfg.Signaling
		sc.APIKey, sc.APISecret = cfg.APIKey, cfg.APISecret
		sc.SessionICEServers = n.sessionICEServers
		sc.NodeName, sc.Region = cfg.Name, cfg.Region
		if n.sig, err = signaling.New(sc, n.sfu, n.log); err != nil {
			_ = n.sfu.Close()
			return nil, err
		}
	}
	if err := n.newTrunk(); err != nil {
		n.closeParts()
		return nil, err
	}
	if n.ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		n.closeParts()
		return nil, fmt.Errorf("node: http %s: %w", cfg.HTTPAddr, err)
	}
	n.reg = prometheus.NewRegistry()
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if n.sfu != nil {
		n.reg.MustRegister(newCollector(n.sfu, n.sig.Connections))
	}
	if n.trunk != nil {
		n.reg.MustRegister(n.trunk.Collector())
		n.trunk.SetHTTP(n.URL())
	}
	if err := n.newJoiner(); err != nil {
		_ = n.ln.Close()
		n.closeParts()
		return nil, err
	}
	if err := n.initEdge(); err != nil {
		_ = n.ln.Close()
		n.closeParts()
		return nil, err
	}
	if err := n.startQuality(); err != nil {
		_ = n.ln.Close()
		n.closeParts()
		return nil, err
	}
	n.srv = &http.Server{Handler: n.routes(), ReadHeaderTimeout: 10 * time.Second}
	return n, nil
}

func (n *Node) routes() http.Handler {
	mux := http.NewServeMux()
	if n.sig != nil {
		mux.Handle("GET /ws", n.sig)
		mux.HandleFunc("GET /api/token", n.handleToken)
		mux.HandleFunc("GET /api/paths", n.handlePaths)
	}
	n.trunkRoutes(mux)
	n.apiRoutes(mux)
	n.qualityRoutes(mux)
	n.joinRoutes(mux)
	n.drainRoutes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if n.closing.Load() || n.draining.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{Registry: n.reg}))
	if n.cfg.Debug {
		mux.HandleFunc("GET /debug/rooms", n.handleDebugRooms)
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	for pattern, h := range n.cfg.Mount {
		mux.Handle(pattern, h)
	}
	mux.Handle("/", web.Handler())
	return mux
}

// handleDebugRooms answers the SFU's snapshot as JSON.
func (n *Node) handleDebugRooms(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(n.sfu.Snapshot()); err != nil {
		n.log.Debug("debug rooms", "err", err)
	}
}

// Start serves HTTP until Close, or until ctx ends (then the node closes
// itself). It returns at once.
func (n *Node) Start(ctx context.Context) error {
	if !n.started.CompareAndSwap(false, true) {
		return errors.New("node: already started")
	}
	if n.closing.Load() {
		return errors.New("node: closed")
	}
	if n.trunk != nil {
		if err := n.trunk.Start(ctx); err != nil {
			return err
		}
	}
	n.startJoiner(ctx)
	go func() {
		defer close(n.serveDone)
		if err := n.srv.Serve(n.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = n.Close()
		case <-n.done:
		}
	}()
	if n.sig != nil {
		go n.refreshAlternatives()
	}
	attrs := []any{"region", n.cfg.Region, "role", n.cfg.Role, "http", n.URL(), "dev", n.cfg.Dev}
	if n.sfu != nil {
		attrs = append(attrs, "udp", n.sfu.UDPAddr().String())
	}
	if n.trunk != nil {
		attrs = append(attrs, "qrtp", n.trunk.Addr().String(), "key", n.trunk.PublicKey().String())
	}
	n.log.Info("node started", attrs...)
	return nil
}

// HTTPAddr is the HTTP listener's address (host:port).
func (n *Node) HTTPAddr() string { return n.ln.Addr().String() }

// URL is the node's base URL for a browser on this host.
func (n *Node) URL() string {
	_, port, _ := net.SplitHostPort(n.HTTPAddr())
	return "http://127.0.0.1:" + port + "/"
}

// Line is the one-line announcement `qrtn serve` and `qrtn demo` print:
// node NAME region=REGION role=ROLE http=URL.
func (n *Node) Line() string {
	return fmt.Sprintf("node %s region=%s role=%s http=%s", n.cfg.Name, n.cfg.Region, n.cfg.Role, n.URL())
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Region is the node's region.
func (n *Node) Region() string { return n.cfg.Region }

// Role is "access".
func (n *Node) Role() string { return n.cfg.Role }

// SFU is the node's SFU (for trunks and tests); nil on a forwarding node.
func (n *Node) SFU() *sfu.SFU { return n.sfu }

// Trunk is the node's trunk side; nil without a trunk section.
func (n *Node) Trunk() *trunk.Trunk { return n.trunk }

// Registry is the node's own Prometheus registry.
func (n *Node) Registry() *prometheus.Registry { return n.reg }

// APIKey is the key tokens for this node carry in their kid.
func (n *Node) APIKey() string { return n.cfg.APIKey }

// MintToken signs a token for this node (in-process tests and tools).
func (n *Node) MintToken(g signaling.Grant, ttl time.Duration) (string, error) {
	return signaling.MintToken(n.cfg.APIKey, n.cfg.APISecret, g, ttl, time.Now())
}

// Done is closed when the node has closed.
func (n *Node) Done() <-chan struct{} { return n.done }

// Close shuts the node down gracefully: /healthz turns unhealthy, the HTTP
// listener stops, every client is told the node is going away and leaves
// its room, and the SFU's sockets close.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.notifyDraining()
		n.closing.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
		defer cancel()
		var errs []error
		if n.started.Load() {
			errs = append(errs, n.srv.Shutdown(ctx))
			<-n.serveDone
		} else {
			errs = append(errs, n.ln.Close())
		}
		errs = append(errs, n.closeParts())
		n.closeErr = errors.Join(errs...)
		close(n.done)
		n.log.Info("node closed")
	})
	return n.closeErr
}
