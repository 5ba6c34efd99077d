package node

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/signaling"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/turnsrv"
	"github.com/qrtn/qrtn/webhook"
)

// Config is one access node's configuration (the YAML file of
// `qrtn serve --config`). The zero value runs a node on free local ports
// with generated secrets.
type Config struct {
	// Name, Region and Role identify the node. Role is "access" (an SFU
	// that browsers join) or "forwarding" (trunks only; needs Trunk).
	Name   string `yaml:"name"`
	Region string `yaml:"region"`
	Role   string `yaml:"role"`
	// HTTPAddr serves the demo page, /ws, /healthz, /metrics and, in dev
	// mode, /api/token. Default 127.0.0.1:0 (a free port).
	HTTPAddr string `yaml:"http_addr"`
	// APIKey and APISecret sign access tokens (HS256, kid = key). Both are
	// generated when the secret is empty.
	APIKey    string `yaml:"api_key"`
	APISecret string `yaml:"api_secret"`
	// Dev enables GET /api/token, which mints tokens for anyone: for the
	// demo page on a development node only.
	Dev bool `yaml:"dev"`
	// DevTokenTTL is the lifetime of /api/token tokens (6 h).
	DevTokenTTL time.Duration `yaml:"dev_token_ttl"`
	// ShutdownTimeout bounds Close's wait for HTTP requests (5 s).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// SFU configures media: the ICE UDP port (default ":0" here), ICE-TCP,
	// NAT rules, ICE servers, bitrates, FlexFEC, dynacast.
	SFU sfu.Config `yaml:"sfu"`
	// Signaling limits for clients.
	Signaling signaling.Config `yaml:"signaling"`
	// Drain tunes graceful drains (SIGTERM on `qrtn serve`, Node.Drain).
	Drain DrainConfig `yaml:"drain"`
	// Trunk connects the node to its peers over QRTP trunks (identity,
	// listen address, key, peers: see trunk/README.md). Without it an
	// access node stands alone.
	Trunk *trunk.Config `yaml:"trunk"`
	// TURN is the embedded TURN server of an access node (turnsrv):
	// UDP, TCP and TLS listeners, credentials handed to clients at join.
	TURN turnsrv.Config `yaml:"turn"`
	// Webhooks POSTs signed events to operators' URLs (node/API.md).
	Webhooks webhook.Config `yaml:"webhooks"`
	// Scheduler: the node's location and user capacity, and how its
	// /api/join places users (join.go, README "Scheduling").
	Scheduler JoinConfig `yaml:"scheduler"`
	// Debug serves Go's profiler at /debug/pprof/ and a JSON snapshot of
	// rooms, tracks and layers (codec and payload type received, bitrates,
	// dynacast state) at /debug/rooms on the HTTP port. Off by default:
	// they reveal internals, and profiles cost CPU while taken.
	Debug bool `yaml:"debug"`
	// DataDir holds the node's files: the quality store's SQLite database
	// unless quality.database names another. Empty: no files (qrtn serve
	// defaults it to ~/.local/state/qrtn/NAME).
	DataDir string `yaml:"data_dir"`
	// Quality configures the quality platform (node/quality.go).
	Quality QualityConfig `yaml:"quality"`
	// Mount adds handlers to the node's HTTP mux, by ServeMux pattern: an
	// in-process host (qrtn demo's network controls) serves its own API on
	// every node. Not configurable from YAML.
	Mount map[string]http.Handler `yaml:"-"`
}

// withDefaults fills empty fields; it generates the API key and secret
// when the secret is empty.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = "dev"
	}
	if c.Region == "" {
		c.Region = "local"
	}
	if c.Role == "" {
		c.Role = "access"
	}
	switch {
	case c.Role == "forwarding" && c.Trunk == nil:
		return c, errors.New("node: a forwarding node needs a trunk section")
	case c.Role != "access" && c.Role != "forwarding":
		return c, fmt.Errorf("node: role %q (access or forwarding)", c.Role)
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:0"
	}
	if c.SFU.UDPAddr == "" {
		c.SFU.UDPAddr = ":0"
	}
	if c.DevTokenTTL <= 0 {
		c.DevTokenTTL = 6 * time.Hour
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 5 * time.Second
	}
	c.Drain = c.Drain.withDefaults()
	if c.APISecret == "" {
		c.APIKey, c.APISecret = "dev"+randomString(6), randomString(32)
	} else if c.APIKey == "" {
		return c, errors.New("node: api_secret without api_key")
	}
	if len(c.APISecret) < 16 {
		return c, errors.New("node: api_secret must be at least 16 characters")
	}
	return c, nil
}

// randomString returns n bytes of randomness, base64url encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}
