package trunk

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/trunk/route"
)

// TestCloseStopsGoroutines: a trunk's goroutines (socket reader and loop)
// end with Close, also when ctx ends first, and Close is idempotent.
func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		nodes := startNet(t, netSpec{
			nodes:  map[string]route.Role{"f1": route.Forwarding, "f2": route.Forwarding},
			trunks: [][2]string{{"f1", "f2"}},
		})
		waitTrunks(t, nodes)
		_ = nodes["f1"].tr.Close()
		_ = nodes["f1"].tr.Close()
		_ = nodes["f2"].tr.Close()
	}()
	kp, _ := handshake.GenerateKeyPair(nil)
	tr, err := New(Config{Name: "x", Role: route.Forwarding, Listen: "127.0.0.1:0", Key: &kp}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := tr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	_ = tr.Close()
	unstarted, err := New(Config{Name: "y", Role: route.Forwarding, Listen: "127.0.0.1:0", Key: &kp}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = unstarted.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestConfigErrors(t *testing.T) {
	kp, _ := handshake.GenerateKeyPair(nil)
	other, _ := handshake.GenerateKeyPair(nil)
	good := Peer{Name: "z", Role: route.Forwarding, Addr: "127.0.0.1:1", PublicKey: other.Public.String()}
	for name, c := range map[string]Config{
		"no name":             {Key: &kp},
		"bad role":            {Name: "a", Role: "hub", Key: &kp},
		"no key":              {Name: "a"},
		"bad peer key":        {Name: "a", Key: &kp, Peers: []Peer{{Name: "z", Addr: "127.0.0.1:1", PublicKey: "nope"}}},
		"own key":             {Name: "a", Key: &kp, Peers: []Peer{{Name: "z", Addr: "127.0.0.1:1", PublicKey: kp.Public.String()}}},
		"repeated peer":       {Name: "a", Key: &kp, Peers: []Peer{good, good}},
		"peer is self":        {Name: "a", Key: &kp, Peers: []Peer{{Name: "a", PublicKey: other.Public.String()}}},
		"dialled, no address": {Name: "a", Key: &kp, Peers: []Peer{{Name: "z", PublicKey: other.Public.String()}}},
		"bad scenario":        {Name: "a", Key: &kp, Scenarios: map[string]Scenario{"party": {}}},
	} {
		if _, _, _, err := c.withDefaults(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", name, err)
		}
	}
	// The acceptor side needs no address for a peer that dials it.
	c := Config{Name: "z", Key: &kp, Peers: []Peer{{Name: "a", PublicKey: other.Public.String()}}}
	if _, peers, _, err := c.withDefaults(); err != nil || len(peers) != 1 || peers[0].Role != route.Forwarding {
		t.Fatalf("acceptor config: %v %+v", err, peers)
	}
	if _, err := New(Config{Name: "a", Role: route.Access, Listen: "127.0.0.1:0", Key: &kp}, nil, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("access node without an SFU: %v", err)
	}
}
