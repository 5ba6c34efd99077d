package webhook

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

const secret = "whsec-for-tests-0123456789"

func TestSignAndVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"EV_1","event":"room_started"}`)
	h := Sign(secret, now, body)
	if _, err := Verify(secret, h, body, now.Add(time.Second), 5*time.Minute); err != nil {
		t.Fatalf("valid delivery refused: %v", err)
	}
	forged := []byte(`{"id":"EV_1","event":"room_finished"}`)
	if _, err := Verify(secret, h, forged, now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("a changed body passed: %v", err)
	}
	if _, err := Verify(secret, Sign("another-secret", now, body), body, now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another secret passed: %v", err)
	}
	if _, err := Verify(secret, "t=1,v1=zz", body, now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("garbage passed: %v", err)
	}
	// A replay: a captured delivery sent again ten minutes later.
	if _, err := Verify(secret, h, body, now.Add(10*time.Minute), 5*time.Minute); !errors.Is(err, ErrStale) {
		t.Fatalf("a replayed delivery passed: %v", err)
	}
}

// TestQueueBackoffAndBounds drives one URL's queue in virtual time.
func TestQueueBackoffAndBounds(t *testing.T) {
	cfg := Config{QueueSize: 3, RetryFor: 10 * time.Second, MinBackoff: time.Second, MaxBackoff: 4 * time.Second}
	q := queue{cfg: cfg}
	t0 := time.Unix(0, 0)
	for i := range 4 {
		ok := q.push(t0, Event{ID: string(rune('a' + i))}, []byte("x"))
		if ok != (i < 3) {
			t.Fatalf("push %d: %v", i, ok)
		}
	}
	if q.dropped != 1 {
		t.Fatalf("dropped %d", q.dropped)
	}
	now := t0
	var waits []time.Duration
	for range 4 {
		it, _, _ := q.next(now)
		if it.ev.ID != "a" {
			t.Fatalf("head %q", it.ev.ID)
		}
		q.result(now, false)
		_, wait, _ := q.next(now)
		waits = append(waits, wait)
		now = now.Add(wait)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("back-off %v, want %v", waits, want)
		}
	}
	// Past the retry window the whole backlog expires.
	if _, _, any := q.next(t0.Add(11 * time.Second)); any || q.expired != 3 {
		t.Fatalf("after the window: any=%v expired=%d", any, q.expired)
	}
	q.push(now, Event{ID: "e"}, []byte("x"))
	it, wait, _ := q.next(now)
	if it.ev.ID != "e" || wait != 0 {
		t.Fatalf("after expiry: %q wait %v", it.ev.ID, wait)
	}
	q.result(now.Add(20*time.Millisecond), true)
	if q.delivered != 1 || q.lastLatency != 20*time.Millisecond {
		t.Fatalf("delivered %d latency %v", q.delivered, q.lastLatency)
	}
}

// receiver records verified deliveries.
type receiver struct {
	mu  sync.Mutex
	got []Event
	bad int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := Verify(secret, req.Header.Get(HeaderSignature), body, time.Now(), time.Minute); err != nil {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev Event
	_ = json.Unmarshal(body, &ev)
	if ev.ID != req.Header.Get(HeaderEventID) {
		r.bad++
	}
	r.got = append(r.got, ev)
}

// TestReceiverDownThenUp: events for a receiver that is down are retried
// with back-off and arrive, in order and signed, once it comes back within
// the retry window; Notify never blocks meanwhile.
func TestReceiverDownThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down: connections are refused
	s, err := New(Config{URLs: []string{"http://" + addr + "/hook"}, Secret: secret, MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, RetryFor: time.Minute}, "n1", "eu", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(0)
	start := time.Now()
	for _, name := range []string{RoomStarted, ParticipantJoined, ParticipantLeft} {
		s.Notify(Event{Event: name, Room: &Room{Name: "r"}})
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Fatal("Notify blocked on a dead receiver")
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats()[0].Failures < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no retries: %+v", s.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	rcv := &receiver{}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rcv}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	for {
		rcv.mu.Lock()
		n := len(rcv.got)
		rcv.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d of 3 after the receiver came back: %+v", n, s.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	rcv.mu.Lock()
	if rcv.bad != 0 || rcv.got[0].Event != RoomStarted || rcv.got[2].Event != ParticipantLeft || rcv.got[0].Node != "n1" || rcv.got[0].ID == "" {
		t.Fatalf("deliveries %+v bad %d", rcv.got, rcv.bad)
	}
	rcv.mu.Unlock()
	// The receiver records a delivery before it answers; the sender counts
	// it when the answer comes.
	for s.Stats()[0].Delivered < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Stats()[0]; st.Delivered != 3 || st.Queued != 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// FuzzVerify: no signature header panics the check, and none but the
// right one passes.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"x"}`)
	f.Add(Sign(secret, now, body))
	f.Add("t=,v1=")
	f.Add("garbage")
	good := Sign(secret, now, body)
	f.Fuzz(func(t *testing.T, h string) {
		if _, err := Verify(secret, h, body, now, time.Minute); err == nil && h != good {
			// Only equivalent spellings of the good header may pass.
			if _, err2 := Verify(secret, good, body, now, time.Minute); err2 != nil {
				t.Fatal("inconsistent")
			}
		}
	})
}
