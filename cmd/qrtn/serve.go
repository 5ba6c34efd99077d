package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/sfu"
	"gopkg.in/yaml.v3"
)

// Development defaults of `qrtn serve` without any configuration.
const (
	devHTTPAddr = "127.0.0.1:7880"
	devUDPAddr  = ":7882"
)

const serveHelp = `Usage: qrtn serve [flags]

Runs one access node: the WebRTC SFU, websocket signaling at /ws, the demo
page at /, /healthz and Prometheus /metrics on one HTTP port, and all ICE
media on one UDP port.

Configuration comes from a YAML file (--config, see testdata/node.yaml),
then environment variables, then flags; later sources win:

  QRTN_NAME, QRTN_REGION        node identity         (--name, --region)
  QRTN_HTTP_ADDR                HTTP listen address   (--http)
  QRTN_UDP_ADDR                 ICE UDP address       (--udp)
  QRTN_TCP_ADDR                 ICE-TCP address       (--tcp; empty: off)
  QRTN_API_KEY, QRTN_API_SECRET token signing key     (--api-key, --api-secret)
  QRTN_DEV                      dev token endpoint    (--dev)
  QRTN_NAT_IPS                  public IPs to advertise, comma separated (--nat-ip)
  QRTN_LOG_LEVEL                debug|info|warn|error (--log-level)
  QRTN_DATA_DIR                 the node's files, among them the quality store
                                quality.db (--data-dir; default
                                ~/.local/state/qrtn/NAME)
  QRTN_QUALITY_DB               the quality store instead: a SQLite file or a
                                postgres:// URL shared by the network (--quality-db)

With no API secret configured the node generates one and runs in dev mode
(GET /api/token mints tokens for the demo page), on http ` + devHTTPAddr + ` and
udp ` + devUDPAddr + ` unless told otherwise. It prints one line when ready:

  node NAME region=REGION role=access http=http://127.0.0.1:PORT/

On SIGTERM or interrupt it drains: it stops being scheduled, tells its
clients to move to other access nodes (a few at a time), and exits once
they are gone or after its drain timeout (drain.timeout, 30 s). A second
SIGTERM exits at once.

Flags:
`

// serveFlags are the flags shared by serve; a flag left unset does not
// override the file or the environment.
type serveFlags struct {
	config, name, region, http, udp, tcp, apiKey, apiSecret, natIPs, logLevel string
	dataDir, qualityDB                                                        string
	dev                                                                       bool
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	fs.StringVar(&f.config, "config", "", "YAML configuration file")
	fs.StringVar(&f.name, "name", "", "node name")
	fs.StringVar(&f.region, "region", "", "node region")
	fs.StringVar(&f.http, "http", "", "HTTP listen address (host:port, port 0 picks one)")
	fs.StringVar(&f.udp, "udp", "", "ICE UDP address (host:port)")
	fs.StringVar(&f.tcp, "tcp", "", "ICE-TCP address (host:port)")
	fs.StringVar(&f.apiKey, "api-key", "", "API key (the kid of tokens)")
	fs.StringVar(&f.apiSecret, "api-secret", "", "API secret (HS256 key of tokens)")
	fs.StringVar(&f.natIPs, "nat-ip", "", "public IPs to advertise instead of host addresses, comma separated")
	fs.StringVar(&f.logLevel, "log-level", "", "log level: debug, info, warn, error")
	fs.BoolVar(&f.dev, "dev", false, "serve GET /api/token (development only)")
	fs.StringVar(&f.dataDir, "data-dir", "", "the node's data directory (default ~/.local/state/qrtn/NAME)")
	fs.StringVar(&f.qualityDB, "quality-db", "", "the quality store: a SQLite file or a postgres:// URL (default DATA_DIR/quality.db)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	cfg, level, err := serveConfig(f, set, os.LookupEnv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	n, err := node.New(cfg, logger)
	if err != nil {
		return err
	}
	// The node outlives ctx: the first SIGTERM drains it (signals.go).
	sigs, unnotify := notifySignals()
	defer unnotify()
	if err := n.Start(context.WithoutCancel(ctx)); err != nil {
		_ = n.Close()
		return err
	}
	if _, err := fmt.Fprintln(stdout, n.Line()); err != nil {
		_ = n.Close()
		return err
	}
	return serveUntilDone(ctx, n, sigs, os.Exit, stderr)
}

// serveConfig merges the file, the environment and the flags that were set.
func serveConfig(f serveFlags, set map[string]bool, env func(string) (string, bool)) (node.Config, slog.Level, error) {
	var cfg node.Config
	if f.config != "" {
		c, err := loadConfigFile(f.config)
		if err != nil {
			return cfg, 0, err
		}
		cfg = c
	}
	levelName := "info"
	devSet := false
	str := func(dst *string, envName, flagName, flagVal string) {
		if v, ok := env(envName); ok && v != "" {
			*dst = v
		}
		if set[flagName] {
			*dst = flagVal
		}
	}
	str(&cfg.Name, "QRTN_NAME", "name", f.name)
	str(&cfg.Region, "QRTN_REGION", "region", f.region)
	str(&cfg.HTTPAddr, "QRTN_HTTP_ADDR", "http", f.http)
	str(&cfg.SFU.UDPAddr, "QRTN_UDP_ADDR", "udp", f.udp)
	str(&cfg.SFU.TCPAddr, "QRTN_TCP_ADDR", "tcp", f.tcp)
	str(&cfg.APIKey, "QRTN_API_KEY", "api-key", f.apiKey)
	str(&cfg.APISecret, "QRTN_API_SECRET", "api-secret", f.apiSecret)
	str(&levelName, "QRTN_LOG_LEVEL", "log-level", f.logLevel)
	str(&cfg.DataDir, "QRTN_DATA_DIR", "data-dir", f.dataDir)
	str(&cfg.Quality.Database, "QRTN_QUALITY_DB", "quality-db", f.qualityDB)
	if cfg.DataDir == "" {
		cfg.DataDir = defaultDataDir(cfg.Name)
	}
	natIPs := ""
	str(&natIPs, "QRTN_NAT_IPS", "nat-ip", f.natIPs)
	if natIPs != "" {
		cfg.SFU.NAT = append(cfg.SFU.NAT, sfu.NATRule{External: strings.Split(natIPs, ","), Type: "host"})
	}
	if v, ok := env("QRTN_DEV"); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, 0, fmt.Errorf("QRTN_DEV=%q: %w", v, err)
		}
		cfg.Dev, devSet = b, true
	}
	if set["dev"] {
		cfg.Dev, devSet = f.dev, true
	}
	if cfg.APISecret == "" {
		// Nobody else can know a generated secret: only the dev endpoint
		// can mint tokens, so a node without configuration is a dev node
		// on the development ports.
		if !devSet {
			cfg.Dev = true
		}
		if cfg.HTTPAddr == "" {
			cfg.HTTPAddr = devHTTPAddr
		}
		if cfg.SFU.UDPAddr == "" {
			cfg.SFU.UDPAddr = devUDPAddr
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(levelName)); err != nil {
		return cfg, 0, fmt.Errorf("log level %q: %w", levelName, err)
	}
	return cfg, level, nil
}

// loadConfigFile reads a node configuration; unknown keys are errors, so a
// typo does not silently fall back to a default.
func loadConfigFile(path string) (node.Config, error) {
	var cfg node.Config
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
