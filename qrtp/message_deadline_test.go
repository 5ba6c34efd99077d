package qrtp

import (
	"testing"
	"time"
)

// TestNextDeadlineSkipsSentMessages: a message sent whole waits for its
// ACK and is never expired by its deadline, so it must not set the
// connection's expiry timer. It did while the stream's cursor still
// pointed at it (the cursor moves on only when the scheduler next serves
// the stream, which a full congestion window delays): the timer stayed in
// the past and a connection to a silent peer polled in a busy loop until
// its idle timeout (found by qrtn sim).
func TestNextDeadlineSkipsSentMessages(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newMsgSend(1 << 20)
	if _, err := s.push(make([]byte, 100), now.Add(100*time.Millisecond), false); err != nil {
		t.Fatal(err)
	}
	f, st := s.next(now, 0, func(*outMsg) int { return 1000 }, func(*outMsg) {})
	if st != sendWrote || f.n != 100 {
		t.Fatalf("next: %v %+v", st, f)
	}
	s.sent(f)
	if d := s.nextDeadline(); !d.IsZero() {
		t.Fatalf("a message sent whole sets the expiry timer to %v", d)
	}
	if _, err := s.push(make([]byte, 100), now.Add(200*time.Millisecond), false); err != nil {
		t.Fatal(err)
	}
	if d := s.nextDeadline(); !d.Equal(now.Add(200 * time.Millisecond)) {
		t.Fatalf("an unsent message's deadline: %v", d)
	}
}
