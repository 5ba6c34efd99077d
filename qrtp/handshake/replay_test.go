package handshake

import (
	"testing"
	"time"
)

func TestReplayOfIdenticalMessage1(t *testing.T) {
	p := newPeers(t, ResponderConfig{})
	_, msg1 := p.init(t, t0, []byte("pay me once"))
	if _, err := p.responder.ReadInit(t0, prologue1, msg1); err != nil {
		t.Fatal(err)
	}
	_, err := p.responder.ReadInit(t0.Add(time.Second), prologue1, msg1)
	wantErr(t, err, ErrReplay)
}

func TestConcurrentHandshakesFromOneKey(t *testing.T) {
	p := newPeers(t, ResponderConfig{})
	_, older := p.init(t, t0, nil)
	_, newer := p.init(t, t0.Add(time.Millisecond), nil)
	_, same := p.init(t, t0.Add(time.Millisecond), nil)
	if _, err := p.responder.ReadInit(t0, prologue1, newer); err != nil {
		t.Fatal(err)
	}
	// Fresh and authentic: an older timestamp, or the same one, from the
	// same initiator is another handshake, not a replay.
	for _, msg := range [][]byte{older, same} {
		if _, err := p.responder.ReadInit(t0, prologue1, msg); err != nil {
			t.Fatal(err)
		}
	}
	// Each of them replayed is refused.
	for _, msg := range [][]byte{older, newer, same} {
		_, err := p.responder.ReadInit(t0.Add(time.Second), prologue1, msg)
		wantErr(t, err, ErrReplay)
	}

	// Another initiator key has its own history.
	q := &peers{ini: mustKeys(t, 5), resp: p.resp, responder: p.responder}
	_, msg := q.init(t, t0, nil)
	if _, err := p.responder.ReadInit(t0, prologue1, msg); err != nil {
		t.Fatal(err)
	}
}

func TestTimestampOutsideWindow(t *testing.T) {
	cases := []struct {
		name    string
		written time.Time // initiator clock
		read    time.Time // responder clock
		ok      bool
	}{
		{"on time", t0, t0, true},
		{"old, just inside", t0, t0.Add(2 * time.Minute), true},
		{"old, just outside", t0, t0.Add(2*time.Minute + 1), false},
		{"initiator clock ahead, inside", t0.Add(2 * time.Minute), t0, true},
		{"initiator clock ahead, outside", t0.Add(2*time.Minute + 1), t0, false},
		{"a day old", t0, t0.Add(24 * time.Hour), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPeers(t, ResponderConfig{})
			_, msg := p.init(t, c.written, nil)
			_, err := p.responder.ReadInit(c.read, prologue1, msg)
			if c.ok && err != nil {
				t.Fatal(err)
			}
			if !c.ok {
				wantErr(t, err, ErrExpired)
			}
		})
	}
}

func TestNotBeforeBlocksPreRestartCapture(t *testing.T) {
	restart := t0.Add(10 * time.Second)
	p := newPeers(t, ResponderConfig{NotBefore: restart})
	_, captured := p.init(t, t0.Add(5*time.Second), nil)
	_, err := p.responder.ReadInit(restart.Add(time.Second), prologue1, captured)
	wantErr(t, err, ErrExpired)
	_, fresh := p.init(t, restart.Add(time.Second), nil)
	if _, err := p.responder.ReadInit(restart.Add(time.Second), prologue1, fresh); err != nil {
		t.Fatal(err)
	}
}

func TestClockSteppingBackDoesNotReopenReplays(t *testing.T) {
	p := newPeers(t, ResponderConfig{MaxTracked: 1})
	_, msg := p.init(t, t0, nil)
	if _, err := p.responder.ReadInit(t0, prologue1, msg); err != nil {
		t.Fatal(err)
	}
	// Time passes; another key's handshake evicts the first entry.
	later := t0.Add(3 * time.Minute)
	q := &peers{ini: mustKeys(t, 6), resp: p.resp, responder: p.responder}
	_, other := q.init(t, later, nil)
	if _, err := p.responder.ReadInit(later, prologue1, other); err != nil {
		t.Fatal(err)
	}
	// The responder's clock steps back to t0: the evicted message must
	// still be refused.
	_, err := p.responder.ReadInit(t0, prologue1, msg)
	wantErr(t, err, ErrExpired)
}

func TestAuthorizeRejecting(t *testing.T) {
	var asked PublicKey
	p := newPeers(t, ResponderConfig{Authorize: func(k PublicKey) bool { asked = k; return false }})
	_, msg := p.init(t, t0, nil)
	_, err := p.responder.ReadInit(t0, prologue1, msg)
	wantErr(t, err, ErrUnauthorized)
	if asked != p.ini.Public {
		t.Fatal("Authorize was not given the initiator's static key")
	}
	if p.responder.Tracked() != 0 {
		t.Fatal("an unauthorized key took a replay table slot")
	}
}

// fill makes n distinct initiators complete message 1 at now.
func fill(t *testing.T, r *Responder, resp KeyPair, n int, now time.Time) {
	t.Helper()
	for k := range n {
		q := &peers{ini: mustKeys(t, byte(100+k)), resp: resp, responder: r}
		_, msg := q.init(t, now, nil)
		if _, err := r.ReadInit(now, prologue1, msg); err != nil {
			t.Fatalf("initiator %d: %v", k, err)
		}
	}
}

func TestTableFullThenEvictedAfterWindow(t *testing.T) {
	window := 10 * time.Second
	p := newPeers(t, ResponderConfig{MaxTracked: 3, ReplayWindow: window})
	fill(t, p.responder, p.resp, 3, t0)

	_, msg := p.init(t, t0.Add(time.Second), nil)
	_, err := p.responder.ReadInit(t0.Add(time.Second), prologue1, msg)
	wantErr(t, err, ErrBusy)

	// Exactly at the window's edge the entries of t0 are still live.
	edge := t0.Add(window)
	_, msg = p.init(t, edge, nil)
	_, err = p.responder.ReadInit(edge, prologue1, msg)
	wantErr(t, err, ErrBusy)

	// Past it, the entries of t0 go and the newcomer fits.
	after := edge.Add(time.Nanosecond)
	_, msg = p.init(t, after, nil)
	if _, err := p.responder.ReadInit(after, prologue1, msg); err != nil {
		t.Fatal(err)
	}
	if got := p.responder.Tracked(); got != 1 {
		t.Fatalf("tracked %d after eviction, want 1 (the newcomer)", got)
	}
}

func TestTableStaysBounded(t *testing.T) {
	const max = 8
	p := newPeers(t, ResponderConfig{MaxTracked: max, ReplayWindow: time.Second})
	now := t0
	for k := range 40 {
		now = now.Add(300 * time.Millisecond)
		q := &peers{ini: mustKeys(t, byte(k)), resp: p.resp, responder: p.responder}
		_, msg := q.init(t, now, nil)
		_, err := p.responder.ReadInit(now, prologue1, msg)
		if err != nil {
			t.Fatalf("handshake %d: %v", k, err)
		}
		if n := p.responder.Tracked(); n > max || n > 4 {
			t.Fatalf("handshake %d: %d entries for a 1 s window at 300 ms spacing", k, n)
		}
	}
}
