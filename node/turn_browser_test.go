package node

import (
	"context"
	"testing"
	"time"

	"github.com/qrtn/qrtn/turnsrv"
	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowserTURNRelay: Chromium pages with &relay=1 (iceTransportPolicy
// 'relay') get media only through the node's embedded TURN server, over
// UDP, then TCP, then TLS (the node hands out one transport at a time; the
// browser trusts the development certificate by its key hash). The relay
// tab watches a host tab that connects directly; over TLS the relay tab
// also publishes, and the host decodes it. The TURN server's counters show
// the bytes relayed over each transport.
func TestBrowserTURNRelay(t *testing.T) {
	browsertest.Require(t)
	n := startNode(t, Config{Dev: true, SFU: sfuTestConfig(), TURN: turnsrv.Config{Enabled: true,
		UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0"}})
	ts := n.TURN()
	br := browsertest.StartT(t, browsertest.Options{Logf: t.Logf,
		Flags: map[string]any{"ignore-certificate-errors-spki-list": ts.SPKI()}})
	ctx := context.Background()
	const video = "&video=320x180@15"
	ts.SetAdvertise(nil) // the host connects directly
	host := br.OpenT(t, n.URL()+"?room=turn&name=host&role=host&autojoin=1"+video)
	if _, err := host.WaitStats(ctx, 30*time.Second, "host joined", func(s browsertest.Stats) bool {
		return s.Joined && s.Candidates.Is("publisher", "host")
	}); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []string{"udp", "tcp", "tls"} {
		ts.SetAdvertise([]string{tr})
		role := "viewer"
		if tr == "tls" {
			role = "host"
		}
		before := ts.Stats()
		p := br.OpenT(t, n.URL()+"?room=turn&relay=1&name="+tr+"&role="+role+"&autojoin=1"+video)
		if _, err := p.WaitStats(ctx, 45*time.Second, "host's media through TURN over "+tr, func(s browsertest.Stats) bool {
			return s.Decoding("host", 30, 2000) && s.Candidates.Is("subscriber", "relay") && s.RelayProtocols.Is("subscriber", tr)
		}); err != nil {
			t.Fatal(err)
		}
		after := ts.Stats()
		if got := after.FromPeerBytes[tr] - before.FromPeerBytes[tr]; got < 20_000 {
			t.Errorf("%s: the TURN server relayed only %d bytes from the node's media", tr, got)
		}
		if after.AllocationsTotal[tr] == before.AllocationsTotal[tr] {
			t.Errorf("%s: no relay allocated over %s", tr, tr)
		}
		if role == "host" {
			if _, err := p.WaitStats(ctx, 30*time.Second, "publishing through TURN over "+tr, func(s browsertest.Stats) bool {
				return s.Candidates.Is("publisher", "relay") && s.RelayProtocols.Is("publisher", tr)
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := host.WaitStats(ctx, 45*time.Second, tr+"'s media relayed to the host", func(s browsertest.Stats) bool {
				return s.Decoding(tr, 30, 2000)
			}); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: relayed %d bytes to the node, %d from it", tr, after.ToPeerBytes[tr]-before.ToPeerBytes[tr], after.FromPeerBytes[tr]-before.FromPeerBytes[tr])
		p.Close()
	}
	if st := ts.Stats(); st.RefusedPermission != 0 {
		t.Errorf("the browsers asked for %d permissions outside the node", st.RefusedPermission)
	}
}
