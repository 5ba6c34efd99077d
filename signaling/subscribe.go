package signaling

import (
	"errors"
	"fmt"

	"github.com/qrtn/qrtn/sfu"
)

// Selective subscription and backup codecs (PROTOCOL.md, "Selective
// subscription" and "Backup codecs"): the join's auto_subscribe and
// codecs, the subscribe message, and the offer's backups.

// subscribeMsg turns receiving a participant's tracks, or one track, on
// or off.
type subscribeMsg struct {
	participant, track string
	on                 bool
}

// Limits on what a client may declare.
const (
	maxCodecNames = 16
	maxBackups    = 8
)

func (m *inbound) checkSubscribe() (any, error) {
	bad := func(format string, args ...any) (any, error) {
		return nil, fmt.Errorf("%w: subscribe: %s", errBadMessage, fmt.Sprintf(format, args...))
	}
	switch {
	case m.Participant == "" || len(m.Participant) > 256:
		return bad("participant required (at most 256 bytes)")
	case len(m.Track) > 256:
		return bad("track id too long")
	case m.Subscribe == nil:
		return bad("subscribe (true|false) required")
	}
	return subscribeMsg{participant: m.Participant, track: m.Track, on: *m.Subscribe}, nil
}

func checkCodecs(codecs []string) error {
	if len(codecs) > maxCodecNames {
		return fmt.Errorf("more than %d codecs", maxCodecNames)
	}
	for _, c := range codecs {
		if c == "" || len(c) > 32 {
			return fmt.Errorf("codec %.40q: want a MIME subtype such as VP8", c)
		}
	}
	return nil
}

func checkBackups(b map[string]string) error {
	if len(b) > maxBackups {
		return fmt.Errorf("more than %d backups", maxBackups)
	}
	for mid, primary := range b {
		if mid == "" || primary == "" || len(mid) > 64 || len(primary) > 64 || mid == primary {
			return fmt.Errorf("backup mid %.20q of %.20q: want two different mids", mid, primary)
		}
	}
	return nil
}

func (c *conn) subscribe(m subscribeMsg) {
	err := c.p.Subscribe(m.participant, m.track, m.on)
	switch {
	case errors.Is(err, sfu.ErrForbidden):
		c.fail(CodeForbidden, "this token may not subscribe", false)
	case errors.Is(err, sfu.ErrTooManyRules):
		c.fail(CodeBadMessage, "subscribe: too many rules (at most 4096 participants and 4096 tracks)", false)
	case err != nil:
		c.fail(CodeInternal, err.Error(), false)
	}
}
