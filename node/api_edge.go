package node

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/signaling"
	"github.com/qrtn/qrtn/turnsrv"
	"github.com/qrtn/qrtn/webhook"
	"github.com/qrtn/qrtn/whip"
)

// edge holds the node's edge services: the embedded TURN server (and,
// in their own files, WHIP/WHEP and webhooks).
type edge struct {
	turn   *turnsrv.Server // nil when off or on a forwarding node
	whip   *whip.Server    // nil on a forwarding node
	hooks  *webhook.Sender // nil without webhook URLs
	events *eventSource    // nil without webhooks or on a forwarding node
	// drained: node_draining was sent (by Drain, or by Close).
	drained sync.Once
}

// initEdge connects the room API to the trunk (commands from other nodes,
// room options from their records) and starts the edge services. It runs
// at the end of New, with the registry ready.
func (n *Node) initEdge() error {
	if n.trunk != nil {
		n.trunk.SetCommandHandler(n.handleCommand)
		if n.sfu != nil {
			t := n.trunk
			n.sfu.SetRoomDefaults(func(room string) (sfu.RoomOptions, bool) {
				for _, rs := range t.Status().Rooms {
					if rs.Room == room && rs.Opts != nil {
						return sfu.RoomOptions{Mode: rs.Mode, MaxParticipants: rs.Opts.MaxParticipants}, true
					}
				}
				return sfu.RoomOptions{}, false
			})
		}
	}
	if n.sfu != nil {
		v, err := signaling.NewVerifier(n.cfg.APIKey, n.cfg.APISecret)
		if err != nil {
			return err
		}
		n.edge.whip = whip.New(whip.Config{SFU: n.sfu, Logger: n.log.With("part", "whip"),
			Verify: func(tok string) (signaling.Grant, error) { return v.Verify(tok, time.Now()) },
			ICEServers: func(g signaling.Grant) []sfu.ICEServer {
				return append(n.sfu.ICEServers(), n.sessionICEServers(g)...)
			},
			Known: func(room, id string) bool {
				ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
				defer cancel()
				v, err := n.view(ctx)
				if err != nil {
					return true // unknown: let the session wait for it
				}
				_, _, err = v.participant(room, id)
				return err == nil
			}})
	}
	if err := n.initWebhooks(); err != nil {
		return err
	}
	if n.sfu != nil && n.cfg.TURN.Enabled {
		ts, err := turnsrv.New(n.cfg.TURN, n.cfg.APISecret, n.mediaAddrs(), n.log.With("part", "turn"))
		if err != nil {
			return err
		}
		n.edge.turn = ts
		n.reg.MustRegister(newTURNCollector(ts))
		n.log.Info("turn server", "listeners", ts.Addrs(), "advertise", n.cfg.TURN.WithDefaults().Advertise)
	}
	return nil
}

// mediaAddrs are the SFU's sockets and advertised IPs: what TURN relays
// may reach.
func (n *Node) mediaAddrs() turnsrv.Media {
	var m turnsrv.Media
	if ua, ok := n.sfu.UDPAddr().(*net.UDPAddr); ok {
		m.IPs, m.Ports = append(m.IPs, ua.IP), append(m.Ports, ua.Port)
	}
	if ta, ok := n.sfu.TCPAddr().(*net.TCPAddr); ok {
		m.IPs, m.Ports = append(m.IPs, ta.IP), append(m.Ports, ta.Port)
	}
	for _, r := range n.cfg.SFU.NAT {
		for _, e := range r.External {
			if ip := net.ParseIP(e); ip != nil {
				m.IPs = append(m.IPs, ip)
			}
		}
	}
	return m
}

// sessionICEServers are a joining session's own ICE servers: the node's
// TURN with short-lived credentials for that session.
func (n *Node) sessionICEServers(g signaling.Grant) []sfu.ICEServer {
	if n.edge.turn == nil {
		return nil
	}
	session := g.Room + "/" + g.Identity + "/" + randomString(3)
	var out []sfu.ICEServer
	for _, s := range n.edge.turn.ICEServers(session, time.Now()) {
		out = append(out, sfu.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}

// TURN is the node's TURN server, nil when off.
func (n *Node) TURN() *turnsrv.Server { return n.edge.turn }

// edgeRoutes registers WHIP and WHEP on an access node.
func (n *Node) edgeRoutes(mux *http.ServeMux) {
	if n.edge.whip != nil {
		n.edge.whip.Register(mux)
	}
}

// closeEdge stops the edge services.
func (n *Node) closeEdge() error {
	var errs []error
	if n.edge.events != nil {
		n.edge.events.close()
	}
	if n.edge.hooks != nil {
		n.edge.hooks.Close(webhookFlush)
	}
	if n.edge.whip != nil {
		n.edge.whip.Close()
	}
	if n.edge.turn != nil {
		errs = append(errs, n.edge.turn.Close())
	}
	return errors.Join(errs...)
}
