package udp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
)

func newKey(t testing.TB) handshake.KeyPair {
	t.Helper()
	k, err := handshake.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testCtx bounds a test: nothing here should take more than a few seconds.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startServer listens on a free loopback port; it is closed at cleanup.
func startServer(t testing.TB, mutate func(*qrtp.Config)) *Transport {
	t.Helper()
	cfg := qrtp.Config{Key: newKey(t)}
	if mutate != nil {
		mutate(&cfg)
	}
	tr, err := Listen(context.Background(), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// readAll reads s to its end.
func readAll(t testing.TB, s *Stream) []byte {
	t.Helper()
	var got bytes.Buffer
	if _, err := io.Copy(&got, s); err != nil {
		t.Fatalf("reading stream %d: %v (after %d bytes)", s.ID(), err, got.Len())
	}
	return got.Bytes()
}

// echo serves one connection: every reliable stream is echoed back until
// the peer's end, then closed.
func echo(ctx context.Context, c *Conn) {
	for {
		s, err := c.AcceptStream(ctx)
		if err != nil {
			return
		}
		go func() {
			io.Copy(s, s)
			s.Close()
		}()
	}
}

// serveEcho accepts connections and echoes their streams until ctx is
// done or the transport closes.
func serveEcho(ctx context.Context, tr *Transport) {
	for {
		c, err := tr.Accept(ctx)
		if err != nil {
			return
		}
		go echo(ctx, c)
	}
}

// checkGoroutines waits for the goroutine count to fall back to base.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines left, want %d:\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}
