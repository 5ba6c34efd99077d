// Package qrtp is qrtn's transport between nodes: encrypted, multiplexed
// streams over UDP with 0-RTT setup, reliable byte streams, messages with
// deadlines, unreliable datagrams, priorities, flow control, loss recovery,
// pacing, pluggable congestion control and dynamic FEC for message streams
// (fec_send.go, fec_recv.go, over qrtp/fec).
//
// Its core is sans-IO: an Endpoint serves many connections on one socket
// without owning the socket or any goroutine. A driver hands it datagrams
// (HandleDatagram), lets it send (Poll) and sleeps until NextTimeout; time
// is always passed in, so the same core runs on real sockets and in
// netsim's virtual time. Endpoint implements netsim.Node.
//
// The wire format and the rules both ends follow are documented in
// README.md beside this file. Packet and frame encoding lives in
// qrtp/wire, keys and packet protection in qrtp/handshake, congestion
// controllers in qrtp/cc, Reed-Solomon coding and the redundancy policy in
// qrtp/fec.
//
// It must not know RTP, media, rooms or anything above a stream of bytes
// or messages; it must not know a controller's internals (only the
// cc.Controller interface) nor a particular driver.
package qrtp
