package qrtp

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
)

// switchReader reads from r until fail is set, then fails.
type switchReader struct {
	r    io.Reader
	fail bool
}

var errBrokenRand = errors.New("broken random source")

func (s *switchReader) Read(p []byte) (int, error) {
	if s.fail {
		return 0, errBrokenRand
	}
	return s.r.Read(p)
}

// zeroReader always returns zeros: every connection ID it gives is the same.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestBrokenRandomSource: a caller-supplied random source that fails, or
// keeps repeating itself, makes Connect return an error (it once panicked,
// or would have looped forever on a repeating source).
func TestBrokenRandomSource(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	key, err := handshake.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := handshake.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("failing", func(t *testing.T) {
		rnd := &switchReader{r: zeroReader{}}
		e, err := NewEndpoint(now, Config{Key: key, Rand: rnd})
		if err != nil {
			t.Fatal(err)
		}
		rnd.fail = true
		if _, err := e.Connect(now, fuzzSrv, &peer.Public, ConnConfig{}); !errors.Is(err, ErrRandom) || !errors.Is(err, errBrokenRand) {
			t.Fatalf("Connect with a failing random source: %v", err)
		}
		if n := len(e.Conns()); n != 0 {
			t.Fatalf("%d connections left behind", n)
		}
	})
	t.Run("repeating", func(t *testing.T) {
		e, err := NewEndpoint(now, Config{Key: key, Rand: zeroReader{}})
		if err != nil {
			t.Fatal(err)
		}
		// The first connection takes the only ID the source gives.
		_, err = e.Connect(now, fuzzSrv, nil, ConnConfig{})
		if !errors.Is(err, ErrRandom) {
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Connect(now, fuzzSrv, nil, ConnConfig{})
		}
		if !errors.Is(err, ErrRandom) {
			t.Fatalf("Connect with a source that repeats itself: %v", err)
		}
	})
}
