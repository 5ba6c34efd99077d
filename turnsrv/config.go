// Package turnsrv is the access node's embedded TURN server, on
// github.com/pion/turn: listeners for UDP, TCP and TLS (a certificate from
// files, or a self-signed one in development), short-lived REST-style
// credentials per session derived from the node's API secret, allocation
// quotas per session and per node, and relays that reach only the node's
// own media addresses: it is never an open relay to arbitrary hosts.
//
// It knows pion/turn and sockets; it knows nothing of rooms, signaling or
// the SFU beyond the media addresses it is given.
package turnsrv

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"time"
)

// Config configures the TURN server (the node's `turn` YAML section).
type Config struct {
	// Enabled runs the server on an access node.
	Enabled bool `yaml:"enabled"`
	// UDPAddr and TCPAddr are the plain TURN listeners (":3478" is usual;
	// port 0 picks one); TLSAddr is TURN over TLS (":5349", or ":443" to
	// pass firewalls that allow only HTTPS). Empty turns one off.
	UDPAddr string `yaml:"udp_addr"`
	TCPAddr string `yaml:"tcp_addr"`
	TLSAddr string `yaml:"tls_addr"`
	// CertFile and KeyFile are the TLS certificate (PEM). Without them a
	// self-signed certificate is generated (browsers refuse it unless told
	// to trust it: development only).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Host is the name or IP put in the turn: URLs handed to clients
	// (default: RelayIP). With a real certificate, its name.
	Host string `yaml:"host"`
	// RelayIP is the address relays are reached at: the node's public IP.
	// Default: the SFU's bound IP, else its first NAT IP, else the first
	// non-loopback IPv4 address, else 127.0.0.1.
	RelayIP string `yaml:"relay_ip"`
	// Realm of the long-term credentials (default "qrtn").
	Realm string `yaml:"realm"`
	// CredentialTTL is how long a session's credentials work (default 2 h):
	// at least as long as a call lasts, since relays refresh with them.
	CredentialTTL time.Duration `yaml:"credential_ttl"`
	// MaxAllocationsPerSession (default 12) and MaxAllocations per node
	// (default 2000) are the quotas; beyond, TURN answers 486.
	MaxAllocationsPerSession int `yaml:"max_allocations_per_session"`
	MaxAllocations           int `yaml:"max_allocations"`
	// MaxBitrate caps what one relay sends towards the node, in bits/s
	// (default 20 Mbit/s); packets above it are dropped and counted.
	MaxBitrate int `yaml:"max_bitrate"`
	// Advertise lists the transports handed to clients at join, of udp,
	// tcp, tls (default: udp and tcp, plus tls with a certificate file).
	Advertise []string `yaml:"advertise"`
}

// WithDefaults fills empty fields.
func (c Config) WithDefaults() Config {
	if c.Realm == "" {
		c.Realm = "qrtn"
	}
	if c.CredentialTTL <= 0 {
		c.CredentialTTL = 2 * time.Hour
	}
	if c.MaxAllocationsPerSession <= 0 {
		c.MaxAllocationsPerSession = 12
	}
	if c.MaxAllocations <= 0 {
		c.MaxAllocations = 2000
	}
	if c.MaxBitrate <= 0 {
		c.MaxBitrate = 20_000_000
	}
	if c.Advertise == nil {
		c.Advertise = []string{"udp", "tcp"}
		if c.CertFile != "" {
			c.Advertise = append(c.Advertise, "tls")
		}
	}
	return c
}

func (c Config) validate() error {
	if c.UDPAddr == "" && c.TCPAddr == "" && c.TLSAddr == "" {
		return errors.New("turn: no listener: set udp_addr, tcp_addr or tls_addr")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("turn: cert_file and key_file go together")
	}
	for _, a := range c.Advertise {
		if !slices.Contains([]string{"udp", "tcp", "tls"}, a) {
			return fmt.Errorf("turn: advertise %q: want udp, tcp or tls", a)
		}
	}
	if c.RelayIP != "" && net.ParseIP(c.RelayIP) == nil {
		return fmt.Errorf("turn: relay_ip %q is not an IP", c.RelayIP)
	}
	return nil
}

// Media are the node's own media addresses: the only peers a relay may
// reach (the SFU's ICE UDP and TCP sockets).
type Media struct {
	// IPs the SFU is reachable at; an unspecified address stands for every
	// address of the host.
	IPs []net.IP
	// Ports of the SFU's sockets.
	Ports []int
}

// hostIPs resolves unspecified addresses into the host's addresses.
func (m Media) hostIPs() []net.IP {
	var out []net.IP
	for _, ip := range m.IPs {
		if !ip.IsUnspecified() {
			out = append(out, ip)
			continue
		}
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				out = append(out, n.IP)
			}
		}
	}
	return out
}

// defaultRelayIP picks the address relays are advertised at.
func defaultRelayIP(m Media) net.IP {
	for _, ip := range m.IPs {
		if !ip.IsUnspecified() {
			return ip
		}
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP
		}
	}
	return net.IPv4(127, 0, 0, 1)
}
