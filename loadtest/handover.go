package loadtest

import (
	"context"
	"time"

	"github.com/pion/webrtc/v4"
)

// A move is make before break (recover.go): the client joins the new node
// while its old link still carries media, and lets the old link go only
// when nothing is lost by it:
//
//   - as a subscriber, once the new link has delivered a complete frame
//     of every remote participant and kind (video, audio) that the old one
//     was still delivering; a connection that merely looks connected (or
//     still waits for the node's offer) is not enough, its first frames
//     still need an offer, ICE, DTLS and a key frame. The old node keeps
//     feeding the old link meanwhile, although the trunks already told it
//     of the newer session: it holds a participant whose subscriber
//     connection still sends feedback (trunk/move.go);
//   - as a publisher, publisherOverlap after the new publisher connection
//     is really connected (ICE and DTLS up: frames sent before that go
//     nowhere, the first key frame included), at most handoverWait: the
//     subscribers that move with it (a drained node's) show the new tracks
//     within 0.1-0.2 s of that. The overlap used to be counted from the
//     moment the connection looked connected, which a connection still
//     "new" did: on a loaded machine the old tracks went before the new
//     video reached anyone (a trial's timeline, docs/survival.md). The old
//     node keeps the old session while the client holds its old link
//     (trunk/move.go). Holding the old publisher connection until the old
//     node let go of the session (its `replaced`, 3 s later) was measured
//     and made gaps more frequent, not less: two encoders and two uplinks
//     for 3 s on a loaded machine, and a forced replacement at the end.
//
// The subscriber's wait is bounded (handoverWait), so a move never hangs on
// a participant that left or a node that never sends. The browser client
// does the same (web/static/qrtn-handover.js).

const (
	// handoverWait bounds the subscriber's wait.
	handoverWait = 3 * time.Second
	// publisherOverlap: how long the old publisher connection keeps
	// sending after the new one is connected.
	publisherOverlap = 500 * time.Millisecond
	// carrying: a kind whose last frame on a link is this recent is still
	// carried by it (video at 25 fps is 40 ms apart, audio 20 ms).
	carrying = 500 * time.Millisecond
)

// stillNeeded returns the keys ("participant/kind") the old link still
// delivers at now that the new link has not delivered a frame of yet.
// A key whose old frames stopped (the participant left or muted, or the
// old node let it go) no longer holds the old link.
func stillNeeded(now time.Time, old, cur map[string]time.Time) []string {
	var out []string
	for key, last := range old {
		if now.Sub(last) >= carrying {
			continue
		}
		if _, ok := cur[key]; !ok {
			out = append(out, key)
		}
	}
	return out
}

// sawFrame records a complete frame of key on l at now.
func (l *link) sawFrame(key string, now time.Time) {
	l.mu.Lock()
	if l.frames == nil {
		l.frames = map[string]time.Time{}
	}
	if now.After(l.frames[key]) {
		l.frames[key] = now
	}
	l.mu.Unlock()
}

// frameTimes is a copy of l's last frame per key.
func (l *link) frameTimes() map[string]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]time.Time, len(l.frames))
	for k, v := range l.frames {
		out[k] = v
	}
	return out
}

// markEnded: the node ended l's session (a link a move is leaving was
// replaced, or its websocket closed).
func (l *link) markEnded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ended {
		l.ended = true
		close(l.endedCh)
	}
}

// oldPublisherDone: the old link's publisher connection no longer feeds
// anyone (there is none, the node ended the session, or it lost its path).
func oldPublisherDone(old *link) bool {
	old.mu.Lock()
	pub, ended := old.pub, old.ended
	old.mu.Unlock()
	return pub == nil || ended || !isConnected(pub)
}

// handOver waits until old may go for nl (see above), within the bounds.
func handOver(ctx context.Context, old, nl *link) {
	start := time.Now()
	var pubUp time.Time // when nl's publisher connection was first seen connected
	for {
		now := time.Now()
		need := stillNeeded(now, old.frameTimes(), nl.frameTimes())
		subDone := now.Sub(start) >= handoverWait || len(need) == 0
		if pubUp.IsZero() && publisherUp(nl) {
			pubUp = now
			old.c.note("new publisher connection up %.0f ms into the handover", ms(now.Sub(start)))
		}
		pubDone := now.Sub(start) >= handoverWait || !pubUp.IsZero() && now.Sub(pubUp) >= publisherOverlap || oldPublisherDone(old)
		if subDone && pubDone {
			old.c.note("handover done after %.0f ms, still needed %v, old publisher done %v", ms(now.Sub(start)), need, oldPublisherDone(old))
			return
		}
		old.mu.Lock()
		ended := old.endedCh
		old.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-ended:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// publisherUp: l has no publisher connection, or it is connected (not
// merely new: isConnected's "not started" does not hold for a publisher,
// whose connection starts at its offer).
func publisherUp(l *link) bool {
	l.mu.Lock()
	pub := l.pub
	l.mu.Unlock()
	return pub == nil || pub.ConnectionState() == webrtc.PeerConnectionStateConnected
}
