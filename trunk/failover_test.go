package trunk

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/qrtp/netsim/udprelay"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/trunk/route"
)

// relays puts a udprelay on every trunk and remembers them by trunk.
type relays struct {
	t  testing.TB
	mu sync.Mutex
	by map[[2]string]*udprelay.Relay
	up netsim.LinkConfig
}

func (rs *relays) addr(dialer, acceptor, direct string) string {
	rs.t.Helper()
	r, err := udprelay.New(context.Background(), udprelay.Config{Listen: "127.0.0.1:0", Upstream: direct,
		Up: rs.up, Down: rs.up, Seed: uint64(len(rs.by) + 1)})
	if err != nil {
		rs.t.Fatal(err)
	}
	rs.t.Cleanup(func() { _ = r.Close() })
	rs.mu.Lock()
	rs.by[[2]string{dialer, acceptor}] = r
	rs.mu.Unlock()
	return r.Addr().String()
}

// TestFailoverForwardingNode: a → {f1, f2} → b. Media flows through one
// forwarding node; that node then fails silently (its trunks black-holed, as
// a crashed machine or a cut link looks) and media resumes through the
// other, with nobody rejoining. Then the node is stopped outright, which
// its peers learn at once from CONNECTION_CLOSE.
func TestFailoverForwardingNode(t *testing.T) {
	rs := &relays{t: t, by: map[[2]string]*udprelay.Relay{}, up: netsim.LinkConfig{Delay: 5 * time.Millisecond}}
	nodes := startNet(t, netSpec{
		nodes: map[string]route.Role{"a": route.Access, "b": route.Access,
			"f1": route.Forwarding, "f2": route.Forwarding},
		trunks: [][2]string{{"a", "f1"}, {"a", "f2"}, {"b", "f1"}, {"b", "f2"}},
		addr:   rs.addr,
	})
	waitTrunks(t, nodes)
	joinClient(t, nodes["a"].sfu, "r", "meeting", "alice", sfutest.Options{Layers: []string{"s", "l"}, Audio: true})
	bob := joinClient(t, nodes["b"].sfu, "r", "meeting", "bob", sfutest.Options{Subscribe: true})
	bob.waitRecv("alice's media", e2eWait, func(st map[string]sfutest.TrackStats) bool {
		v, okv := trackOf(st, "video")
		a, oka := trackOf(st, "audio")
		return okv && oka && v.Packets > 50 && a.Packets > 20
	})
	via := func() string {
		f, ok := flowAt(nodes["b"], "a", "audio", 0)
		if !ok {
			return ""
		}
		return f.Upstream
	}
	first := via()
	if first != "f1" && first != "f2" {
		t.Fatalf("b gets alice's audio from %q", first)
	}
	other := map[string]string{"f1": "f2", "f2": "f1"}[first]

	// A silent failure: everything to and from the forwarding node is lost.
	blackhole := netsim.LinkConfig{Loss: netsim.Bernoulli(1)}
	for k, r := range rs.by {
		if k[0] == first || k[1] == first {
			r.SetLinks(blackhole, blackhole)
		}
	}
	failed := time.Now()
	before := received(bob, "audio")
	waitFor(t, e2eWait, "audio after the failure", func() bool { return received(bob, "audio") > before })
	t.Logf("silent failure of %s: audio back through %s after %v", first, other, time.Since(failed).Round(10*time.Millisecond))
	waitFor(t, e2eWait, "b to re-route through "+other+" (b's flows: "+fmt.Sprint(nodes["b"].tr.Status().Flows)+" before)", func() bool {
		return via() == other
	})
	bob.waitRecv("audio again after the failure", e2eWait, func(st map[string]sfutest.TrackStats) bool {
		a, _ := trackOf(st, "audio")
		return a.Packets > before+25
	})
	v, _ := trackOf(bob.c.Received(), "video")
	vBefore := v.Packets
	bob.waitRecv("video again after the failure", e2eWait, func(st map[string]sfutest.TrackStats) bool {
		v, _ := trackOf(st, "video")
		return v.Packets > vBefore+50
	})

	// The broken node recovers; then the one carrying media is stopped.
	for k, r := range rs.by {
		if k[0] == first || k[1] == first {
			r.SetLinks(rs.up, rs.up)
		}
	}
	waitTrunks(t, map[string]*testNode{"a": nodes["a"], "b": nodes["b"]})
	_ = nodes[other].tr.Close()
	stopped := time.Now()
	before = received(bob, "audio")
	waitFor(t, e2eWait, "audio after the stop", func() bool { return received(bob, "audio") > before })
	t.Logf("stop of %s: audio back through %s after %v", other, first, time.Since(stopped).Round(10*time.Millisecond))
	waitFor(t, e2eWait, "b to re-route through "+first, func() bool { return via() == first })
	bob.waitRecv("audio after the stop", e2eWait, func(st map[string]sfutest.TrackStats) bool {
		a, _ := trackOf(st, "audio")
		return a.Packets > before+25
	})
	if p := bob.p; p.Room().Participant("alice") == nil {
		t.Error("alice's mirror left b's room during the failover")
	}
}

func received(cl *client, kind string) int {
	s, _ := trackOf(cl.c.Received(), kind)
	return s.Packets
}
