package loadtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// silentNode answers every join with joined and then keeps the websocket
// open without a word, as a live node does for a participant that is
// still in the room.
func silentNode(t *testing.T) *httptest.Server {
	t.Helper()
	up := websocket.Upgrader{}
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		var m message
		if ws.ReadJSON(&m) != nil {
			return
		}
		self, _ := json.Marshal(participantInfo{ID: "p1", Name: "x"})
		if ws.WriteJSON(message{Type: "joined", Participant: self}) != nil {
			return
		}
		<-done // hold the websocket open until the server ends
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv
}

// A link that nobody adopted (a join answered just as the client closed,
// the hang seen in a 300-participant run) must not keep close() waiting
// for as long as the node keeps its websocket open.
func TestCloseEndsEveryLinksReader(t *testing.T) {
	srv := silentNode(t)
	c := newClient(context.Background(), clientParams{base: srv.URL, identity: "x"})
	stray := newLink(c, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := stray.open(ctx, message{Type: "join"}, nil); err != nil {
		t.Fatalf("open: %v", err)
	}
	closed := make(chan struct{})
	go func() { c.close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("close() still waits for a link's websocket reader 10 s later")
	}
}

// A join the node answers after close() began is refused, not adopted as
// the client's link (close() would never close it).
func TestJoinAnsweredWhileClosingIsNotAdopted(t *testing.T) {
	srv := silentNode(t)
	c := newClient(context.Background(), clientParams{base: srv.URL, identity: "x"})
	c.mu.Lock()
	c.rec.closing = true
	c.mu.Unlock()
	l := newLink(c, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.open(ctx, message{Type: "join"}, func(m message) error { return c.adopt(l, m) }); err == nil {
		t.Fatal("a join answered while closing was accepted")
	}
	if cur := c.current(); cur != nil {
		t.Fatalf("the client adopted a link while closing: %v", cur)
	}
	c.close()
}
