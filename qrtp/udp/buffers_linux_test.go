//go:build linux

package udp

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
)

func sysctlInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("cannot read %s: %v", path, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSocketBuffersReadBack: the grant is read back, not assumed. A small
// request is granted as asked; one above net.core.rmem_max is either
// forced past it (CAP_NET_ADMIN) or capped at it, and a cap is logged
// with the sysctl to raise.
func TestSocketBuffersReadBack(t *testing.T) {
	small, err := SetSocketBuffers(listenLoopback(t), 256<<10, 256<<10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if small.ReadGranted != 256<<10 || small.WriteGranted != 256<<10 || small.Capped() {
		t.Errorf("256 KiB each way: %+v", small)
	}

	rmax := sysctlInt(t, "/proc/sys/net/core/rmem_max")
	want := 2*rmax + 4096
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	big, err := SetSocketBuffers(listenLoopback(t), want, 0, log)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case big.ReadForced:
		if big.ReadGranted < want || big.Capped() {
			t.Errorf("forced to %d of %d bytes, capped %v", big.ReadGranted, want, big.Capped())
		}
	default:
		if big.ReadGranted != rmax || !big.Capped() {
			t.Errorf("granted %d of %d bytes without force, want the cap rmem_max=%d", big.ReadGranted, want, rmax)
		}
		if !strings.Contains(logs.String(), "net.core.rmem_max="+strconv.Itoa(want)) {
			t.Errorf("a capped buffer was not logged with its fix:\n%s", logs.String())
		}
	}
	if big.WriteRequested != 0 || big.WriteGranted != 0 {
		t.Errorf("write direction touched: %+v", big)
	}
}

// TestTransportReportsBuffers: a transport's Stats carry its grant.
func TestTransportReportsBuffers(t *testing.T) {
	key, err := handshake.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Listen(context.Background(), "127.0.0.1:0", qrtp.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	b := tr.Stats().Buffers
	if b.ReadRequested != socketBuffer || b.WriteRequested != socketBuffer || b.ReadGranted <= 0 || b.WriteGranted <= 0 {
		t.Errorf("transport buffers %+v", b)
	}
}
