package udp

import (
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
)

// BenchmarkCoreInMemory moves a reliable bulk stream between two Endpoints
// joined by function calls on one goroutine, with the real clock: the
// ceiling the core (framing, AEAD, recovery, flow control) allows before
// any socket cost. Compare its MB/s with BenchmarkLoopback's.
func BenchmarkCoreInMemory(b *testing.B) {
	ck, _ := handshake.GenerateKeyPair(nil)
	sk, _ := handshake.GenerateKeyPair(nil)
	now := time.Now()
	cli, err := qrtp.NewEndpoint(now, qrtp.Config{Key: ck, Conn: qrtp.ConnConfig{Profile: "bulk"}})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := qrtp.NewEndpoint(now, qrtp.Config{Key: sk, Accept: true, Conn: qrtp.ConnConfig{Profile: "bulk"}})
	if err != nil {
		b.Fatal(err)
	}
	ca := netip.MustParseAddrPort("127.0.0.1:1")
	sa := netip.MustParseAddrPort("127.0.0.1:2")
	conn, err := cli.Connect(now, sa, &sk.Public, qrtp.ConnConfig{})
	if err != nil {
		b.Fatal(err)
	}
	st, _ := conn.OpenStream(qrtp.StreamOptions{})
	chunk := make([]byte, 64<<10)
	rbuf := make([]byte, 64<<10)
	var toSrv, toCli [][]byte
	var rs *qrtp.Stream
	var sconn *qrtp.Conn
	total := int64(b.N) * int64(len(chunk))
	var written, read int64
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	for read < total {
		now = time.Now()
		for written < total {
			n, _ := st.Write(chunk[:min(int64(len(chunk)), total-written)])
			written += int64(n)
			if n == 0 {
				break
			}
		}
		cli.Poll(now, func(_ netip.AddrPort, p []byte) { toSrv = append(toSrv, append([]byte(nil), p...)) })
		for _, p := range toSrv {
			srv.HandleDatagram(now, ca, p)
		}
		toSrv = toSrv[:0]
		if sconn == nil {
			sconn = srv.Accept()
		}
		if sconn != nil && rs == nil {
			rs = sconn.AcceptStream()
		}
		for rs != nil {
			n, err := rs.Read(rbuf)
			read += int64(n)
			if n == 0 || err == io.EOF {
				break
			}
		}
		srv.Poll(now, func(_ netip.AddrPort, p []byte) { toCli = append(toCli, append([]byte(nil), p...)) })
		for _, p := range toCli {
			cli.HandleDatagram(now, sa, p)
		}
		toCli = toCli[:0]
	}
}
