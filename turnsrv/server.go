package turnsrv

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v4"
)

// Server is a running TURN server. Close it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	srv     *turn.Server
	secret  string // the TURN REST shared secret, derived from the API secret
	media   Media
	peerIPs []net.IP
	relayIP net.IP
	bindIP  net.IP
	host    string
	spki    string // self-signed certificate's key hash; "" with a real one

	udp       net.PacketConn
	tcp, tlsL net.Listener
	advertise atomic.Pointer[[]string]

	mu        sync.Mutex
	bySession map[string]int // allocations per username
	total     int
	stats     stats
}

// DeriveSecret is the TURN REST shared secret of a node: an HMAC of the API
// secret, so that the API secret itself never leaves the node.
func DeriveSecret(apiSecret string) string {
	m := hmac.New(sha256.New, []byte(apiSecret))
	m.Write([]byte("qrtn turn rest credentials v1"))
	return base64.RawStdEncoding.EncodeToString(m.Sum(nil))
}

// New starts the listeners. apiSecret is the node's API secret; media are
// the addresses relays may reach.
func New(cfg Config, apiSecret string, media Media, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: logger, secret: DeriveSecret(apiSecret), media: media, bySession: map[string]int{}}
	s.peerIPs = media.hostIPs()
	s.relayIP = net.ParseIP(cfg.RelayIP)
	if s.relayIP == nil {
		s.relayIP = defaultRelayIP(media)
	}
	s.bindIP = net.IPv4zero
	if isLocal(s.relayIP) {
		s.bindIP = s.relayIP
	}
	s.host = cfg.Host
	if s.host == "" {
		s.host = s.relayIP.String()
	}
	adv := slices.Clone(cfg.Advertise)
	s.advertise.Store(&adv)
	if err := s.listen(); err != nil {
		s.closeListeners()
		return nil, err
	}
	return s, nil
}

func isLocal(ip net.IP) bool {
	if ip.IsLoopback() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

func (s *Server) listen() error {
	sc := turn.ServerConfig{
		Realm:         s.cfg.Realm,
		LoggerFactory: pionLogs{s.log},
		AuthHandler:   s.auth(),
		QuotaHandler:  s.quota,
		EventHandler: turn.EventHandler{
			OnAllocationCreated: s.allocated,
			OnAllocationDeleted: s.released,
			OnAuth: func(_, _ net.Addr, _, _, _, _ string, ok bool) {
				if !ok {
					s.stats.authFailed.Add(1)
				}
			},
		},
	}
	perm := func(_ net.Addr, peer net.IP) bool {
		if s.allowedPeer(peer, -1) {
			return true
		}
		s.stats.refusedPermission.Add(1)
		return false
	}
	var err error
	if s.cfg.UDPAddr != "" {
		if s.udp, err = net.ListenPacket("udp", s.cfg.UDPAddr); err != nil {
			return fmt.Errorf("turn: udp %s: %w", s.cfg.UDPAddr, err)
		}
		// Every UDP client shares this socket: the kernel's default buffer
		// overflows in bursts (best effort: capped at net.core.rmem_max).
		if uc, ok := s.udp.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(4 << 20)
			_ = uc.SetWriteBuffer(4 << 20)
		}
		sc.PacketConnConfigs = append(sc.PacketConnConfigs, turn.PacketConnConfig{PacketConn: s.udp,
			RelayAddressGenerator: &relayGen{s, protoUDP}, PermissionHandler: perm})
	}
	if s.cfg.TCPAddr != "" {
		if s.tcp, err = net.Listen("tcp", s.cfg.TCPAddr); err != nil {
			return fmt.Errorf("turn: tcp %s: %w", s.cfg.TCPAddr, err)
		}
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{Listener: s.tcp,
			RelayAddressGenerator: &relayGen{s, protoTCP}, PermissionHandler: perm})
	}
	if s.cfg.TLSAddr != "" {
		cert, err := s.certificate()
		if err != nil {
			return err
		}
		if s.tlsL, err = tls.Listen("tcp", s.cfg.TLSAddr, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("turn: tls %s: %w", s.cfg.TLSAddr, err)
		}
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{Listener: s.tlsL,
			RelayAddressGenerator: &relayGen{s, protoTLS}, PermissionHandler: perm})
	}
	if s.srv, err = turn.NewServer(sc); err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	return nil
}

func (s *Server) certificate() (tls.Certificate, error) {
	if s.cfg.CertFile != "" {
		c, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
		if err != nil {
			return c, fmt.Errorf("turn: certificate: %w", err)
		}
		return c, nil
	}
	c, spki, err := selfSigned([]net.IP{s.relayIP}, s.host)
	if err != nil {
		return c, fmt.Errorf("turn: self-signed certificate: %w", err)
	}
	s.spki = spki
	s.log.Info("turn: TLS with a self-signed certificate (development only: browsers refuse it unless told to trust it)", "spki_sha256", spki)
	return c, nil
}

// auth checks REST-style credentials (username "EXPIRY:SESSION", password
// base64(HMAC-SHA1(secret, username))): pion's handler refuses malformed
// and expired usernames (counted here) and pion then checks the message
// integrity with the key (a wrong password is counted by OnAuth).
func (s *Server) auth() turn.AuthHandler {
	h := turn.LongTermTURNRESTAuthHandler(s.secret, pionLogs{s.log}.NewLogger("turn-auth"))
	return func(username, realm string, src net.Addr) ([]byte, bool) {
		key, ok := h(username, realm, src)
		if !ok {
			s.stats.authFailed.Add(1)
		}
		return key, ok
	}
}

// quota refuses an allocation beyond the session's or the node's quota.
func (s *Server) quota(username, _ string, _ net.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= s.cfg.MaxAllocations || s.bySession[username] >= s.cfg.MaxAllocationsPerSession {
		s.stats.refusedQuota.Add(1)
		return false
	}
	return true
}

func (s *Server) allocated(src, dst net.Addr, _, username, _ string, _ net.Addr, _ int) {
	s.mu.Lock()
	s.bySession[username]++
	s.total++
	s.mu.Unlock()
	p := protoUDP
	if _, ok := src.(*net.UDPAddr); !ok {
		p = protoTCP
		if s.tlsL != nil && dst != nil && port(dst) == port(s.tlsL.Addr()) {
			p = protoTLS
		}
	}
	s.stats.allocations[p].Add(1)
}

func (s *Server) released(_, _ net.Addr, _, username, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bySession[username] <= 1 {
		delete(s.bySession, username)
	} else {
		s.bySession[username]--
	}
	if s.total > 0 {
		s.total--
	}
}

// ICEServer is a TURN server entry for a client, in RTCIceServer's shape.
type ICEServer struct {
	URLs       []string
	Username   string
	Credential string
}

// Credentials mints a session's REST-style credentials, valid for the
// configured TTL from now.
func (s *Server) Credentials(session string, now time.Time) (username, password string) {
	username = strconv.FormatInt(now.Add(s.cfg.CredentialTTL).Unix(), 10) + ":" + session
	m := hmac.New(sha1New, []byte(s.secret))
	m.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ICEServers is what a session's client gets at join: the advertised
// transports with fresh credentials for that session.
func (s *Server) ICEServers(session string, now time.Time) []ICEServer {
	var urls []string
	for _, a := range *s.advertise.Load() {
		switch {
		case a == "udp" && s.udp != nil:
			urls = append(urls, "turn:"+net.JoinHostPort(s.host, port(s.udp.LocalAddr()))+"?transport=udp")
		case a == "tcp" && s.tcp != nil:
			urls = append(urls, "turn:"+net.JoinHostPort(s.host, port(s.tcp.Addr()))+"?transport=tcp")
		case a == "tls" && s.tlsL != nil:
			urls = append(urls, "turns:"+net.JoinHostPort(s.host, port(s.tlsL.Addr()))+"?transport=tcp")
		}
	}
	if len(urls) == 0 {
		return nil
	}
	u, p := s.Credentials(session, now)
	return []ICEServer{{URLs: urls, Username: u, Credential: p}}
}

func port(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// SetAdvertise changes the transports handed to clients from now on.
func (s *Server) SetAdvertise(transports []string) {
	c := slices.Clone(transports)
	s.advertise.Store(&c)
}

// SPKI is the base64 SHA-256 of the self-signed certificate's public key
// ("" with a configured certificate), for clients told to trust it.
func (s *Server) SPKI() string { return s.spki }

// Addrs are the listeners' addresses by transport (udp, tcp, tls).
func (s *Server) Addrs() map[string]net.Addr {
	out := map[string]net.Addr{}
	if s.udp != nil {
		out["udp"] = s.udp.LocalAddr()
	}
	if s.tcp != nil {
		out["tcp"] = s.tcp.Addr()
	}
	if s.tlsL != nil {
		out["tls"] = s.tlsL.Addr()
	}
	return out
}

// Stats is a snapshot of the counters.
type Stats struct {
	Allocations       int               // now
	AllocationsTotal  map[string]uint64 // by client transport
	ToPeerBytes       map[string]uint64 // relayed towards the node's media, by client transport
	FromPeerBytes     map[string]uint64
	RefusedPermission uint64 // permission requests for addresses outside the node
	RefusedPort       uint64 // packets to other ports of the node
	RefusedQuota      uint64
	RateDrops         uint64
	AuthFailures      uint64
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	st := Stats{AllocationsTotal: map[string]uint64{}, ToPeerBytes: map[string]uint64{}, FromPeerBytes: map[string]uint64{},
		RefusedPermission: s.stats.refusedPermission.Load(), RefusedPort: s.stats.refusedPort.Load(),
		RefusedQuota: s.stats.refusedQuota.Load(), RateDrops: s.stats.rateDrops.Load(), AuthFailures: s.stats.authFailed.Load()}
	for i, n := range protoNames {
		st.AllocationsTotal[n] = s.stats.allocations[i].Load()
		st.ToPeerBytes[n] = s.stats.toPeer[i].Load()
		st.FromPeerBytes[n] = s.stats.fromPeer[i].Load()
	}
	s.mu.Lock()
	st.Allocations = s.total
	s.mu.Unlock()
	return st
}

// Close stops the listeners and frees every allocation.
func (s *Server) Close() error {
	if s.srv == nil {
		s.closeListeners()
		return nil
	}
	err := s.srv.Close()
	// pion closes allocations as its read loops end; wait for them so that
	// no relay socket outlives the node.
	deadline := time.Now().Add(2 * time.Second)
	for s.srv.AllocationCount() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *Server) closeListeners() {
	if s.udp != nil {
		_ = s.udp.Close()
	}
	for _, l := range []net.Listener{s.tcp, s.tlsL} {
		if l != nil {
			_ = l.Close()
		}
	}
}

// pionLogs routes pion's logs to slog at debug level.
type pionLogs struct{ log *slog.Logger }

func (p pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return logging.NewDefaultLeveledLoggerForScope(scope, logging.LogLevelWarn, slogWriter(p))
}

type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(b []byte) (int, error) {
	w.log.Debug("pion turn", "msg", string(b))
	return len(b), nil
}
