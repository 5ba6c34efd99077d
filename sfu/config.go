package sfu

import (
	"fmt"
	"net"
	"time"

	"github.com/pion/webrtc/v4"
)

// Config configures the SFU. The zero value is usable: every field has a
// default, and addresses with port 0 pick a free port.
type Config struct {
	// UDPAddr is the one UDP socket all ICE traffic uses ("host:port").
	// An unspecified host listens on every interface. Default ":7882".
	UDPAddr string `yaml:"udp_addr"`
	// TCPAddr enables ICE-TCP on this address when set (e.g. ":7881").
	TCPAddr string `yaml:"tcp_addr"`
	// ExcludeLoopback leaves loopback addresses out of ICE candidates.
	// They are included by default so that same-host clients and tests work.
	ExcludeLoopback bool `yaml:"exclude_loopback"`
	// NAT rewrites candidate addresses, for nodes behind 1:1 NAT.
	NAT []NATRule `yaml:"nat"`
	// ICEServers are handed to clients (STUN/TURN) in `joined`.
	ICEServers []ICEServer `yaml:"ice_servers"`
	// MaxParticipants per room; 0 means 100.
	MaxParticipants int `yaml:"max_participants"`
	// ICEDisconnectedTimeout and ICEFailedTimeout: a participant whose
	// connection stays failed is removed. Defaults 5 s and 15 s.
	ICEDisconnectedTimeout time.Duration `yaml:"ice_disconnected_timeout"`
	ICEFailedTimeout       time.Duration `yaml:"ice_failed_timeout"`
	// InitialBitrate and MaxBitrate bound each subscriber's bandwidth estimate (bwe.go)
	// (bits/s). Defaults 3 Mbit/s and 20 Mbit/s: the initial estimate must
	// leave room for a large layer (≈1.5 Mbit/s plus key frames, headers
	// and audio) with the selector's margin, or a subscriber would start
	// on the small layer and wait for the estimate to grow.
	InitialBitrate int `yaml:"initial_bitrate"`
	MaxBitrate     int `yaml:"max_bitrate"`
	// DisableFlexFEC stops offering FlexFEC-03 to subscribers.
	DisableFlexFEC bool `yaml:"disable_flexfec"`
	// FlexFECMedia and FlexFECRepair: one FEC group protects FlexFECMedia
	// packets with FlexFECRepair repair packets. Defaults 10 and 1 (10%).
	FlexFECMedia  int `yaml:"flexfec_media"`
	FlexFECRepair int `yaml:"flexfec_repair"`
	// PacketCache is the number of packets kept per video layer to answer
	// NACKs. Default 512 (about 3 s of a 1.5 Mbit/s layer).
	PacketCache int `yaml:"packet_cache"`
	// DynacastPauseAfter is how long a layer must go unwatched before the
	// publisher is told to stop sending it. Default 3 s.
	DynacastPauseAfter time.Duration `yaml:"dynacast_pause_after"`
	// PathFaults enables SFU.CutPaths, a test and demo hook that cuts the
	// ICE paths in use (faults.go). Off by default: it costs a lock per
	// datagram.
	PathFaults bool `yaml:"path_faults"`
	// Tick is the period of the per-room loop that selects layers, runs
	// dynacast and detects speakers. Default 200 ms.
	Tick time.Duration `yaml:"tick"`
}

// NATRule is one ICE address rewrite rule (pion's ICEAddressRewriteRule).
type NATRule struct {
	// External addresses to advertise.
	External []string `yaml:"external"`
	// Local, if set, restricts the rule to this local address; CIDR to
	// local addresses in this range.
	Local string `yaml:"local"`
	CIDR  string `yaml:"cidr"`
	// Type is "host" (default: replace the host candidate) or "srflx"
	// (add a server-reflexive candidate).
	Type string `yaml:"type"`
	// Mode is "replace" or "append"; empty takes pion's default for Type.
	Mode string `yaml:"mode"`
}

// ICEServer is a STUN or TURN server for clients, in RTCIceServer's shape.
type ICEServer struct {
	URLs       []string `yaml:"urls" json:"urls"`
	Username   string   `yaml:"username" json:"username,omitempty"`
	Credential string   `yaml:"credential" json:"credential,omitempty"`
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.UDPAddr == "" {
		c.UDPAddr = ":7882"
	}
	def(&c.MaxParticipants, 100)
	defDur(&c.ICEDisconnectedTimeout, 5*time.Second)
	defDur(&c.ICEFailedTimeout, 15*time.Second)
	def(&c.InitialBitrate, 3_000_000)
	def(&c.MaxBitrate, 20_000_000)
	def(&c.FlexFECMedia, 10)
	def(&c.FlexFECRepair, 1)
	def(&c.PacketCache, 512)
	defDur(&c.DynacastPauseAfter, 3*time.Second)
	defDur(&c.Tick, 200*time.Millisecond)
	return c
}

func (r NATRule) toPion() (webrtc.ICEAddressRewriteRule, error) {
	out := webrtc.ICEAddressRewriteRule{External: r.External, Local: r.Local, CIDR: r.CIDR}
	switch r.Type {
	case "", "host":
		out.AsCandidateType = webrtc.ICECandidateTypeHost
	case "srflx":
		out.AsCandidateType = webrtc.ICECandidateTypeSrflx
	default:
		return out, fmt.Errorf("sfu: nat rule type %q: want host or srflx", r.Type)
	}
	switch r.Mode {
	case "":
	case "replace":
		out.Mode = webrtc.ICEAddressRewriteReplace
	case "append":
		out.Mode = webrtc.ICEAddressRewriteAppend
	default:
		return out, fmt.Errorf("sfu: nat rule mode %q: want replace or append", r.Mode)
	}
	for _, e := range r.External {
		if net.ParseIP(e) == nil {
			return out, fmt.Errorf("sfu: nat rule external address %q is not an IP", e)
		}
	}
	return out, nil
}
