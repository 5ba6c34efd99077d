package sfutest

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// TrackStats is what a subscriber received on one track.
type TrackStats struct {
	Participant, Track, Kind, Mime string

	Packets, Bytes int
	// SeqGaps counts packets whose sequence number did not follow the
	// previous one (loss or reordering; none on loopback).
	SeqGaps int
	// PicGaps counts VP8 frames whose picture ID did not follow the
	// previous frame's.
	PicGaps int
	// TSBack counts frames whose timestamp went backwards.
	TSBack int
	// Breaks counts what loss and reordering cannot explain: a frame whose
	// picture ID skipped more frames than packets went missing before it,
	// or a packet later in sequence whose timestamp went back. A forwarder
	// that rewrites sequence numbers, picture IDs and timestamps right
	// across layer switches keeps it at 0 on a lossy path too, where
	// SeqGaps and PicGaps count the loss.
	Breaks int
	// MaxSeqJump is the largest step between consecutive sequence numbers
	// (either way), and MaxTSBack the largest backward timestamp step:
	// small with reordering or repair, huge when streams get mixed up.
	MaxSeqJump int
	MaxTSBack  uint32
	// Duplicates counts packets whose sequence number had arrived already
	// (resent over RTX: dups.go); they count in no other field but SSRCs.
	Duplicates int
	Keyframes  int
	// Layers counts packets per publisher layer index (the synthetic
	// payload's last byte).
	Layers    map[int]int
	LastLayer int
	Switches  int
	// Layer switches seen by the subscriber's bytes, with the packet index.
	SSRCs   map[uint32]bool
	FirstAt time.Time
	LastAt  time.Time
}

func (c *Client) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	key := track.StreamID() + "/" + track.ID()
	st := &TrackStats{Participant: track.StreamID(), Track: track.ID(), Kind: track.Kind().String(),
		Mime: track.Codec().MimeType, Layers: map[int]int{}, LastLayer: -1, SSRCs: map[uint32]bool{}}
	c.mu.Lock()
	c.recv[key] = st
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		var lastSeq uint16
		var lastTS uint32
		var lastPic uint16
		havePic := false
		var order orderCheck
		var dups dupWindow
		buf := make([]byte, 1500)
		for {
			n, _, err := track.Read(buf)
			if err != nil {
				return
			}
			var pkt rtpView
			if !pkt.parse(buf[:n]) {
				continue
			}
			now := time.Now()
			c.mu.Lock()
			st.SSRCs[pkt.ssrc] = true
			if dups.seen(pkt.seq) {
				st.Duplicates++
				c.mu.Unlock()
				continue
			}
			if st.Packets > 0 {
				if pkt.seq != lastSeq+1 {
					st.SeqGaps++
				}
				if j := int(int16(pkt.seq - lastSeq)); max(j, -j) > st.MaxSeqJump {
					st.MaxSeqJump = max(j, -j)
				}
				if back := int32(pkt.ts - lastTS); back < 0 {
					st.TSBack++
					st.MaxTSBack = max(st.MaxTSBack, uint32(-back))
				}
			} else {
				st.FirstAt = now
			}
			st.Packets++
			st.Bytes += n
			st.LastAt = now
			st.Breaks += order.packet(&pkt, track.Kind() == webrtc.RTPCodecTypeVideo)
			lastSeq, lastTS = pkt.seq, pkt.ts
			if track.Kind() == webrtc.RTPCodecTypeVideo && len(pkt.payload) > 6 {
				p := pkt.payload
				l := int(p[len(p)-1])
				st.Layers[l]++
				if st.LastLayer >= 0 && l != st.LastLayer {
					st.Switches++
				}
				st.LastLayer = l
				if p[0]&0x10 != 0 { // start of a frame
					pic := uint16(p[2]&0x7f)<<8 | uint16(p[3])
					if havePic && pic != (lastPic+1)&0x7fff {
						st.PicGaps++
					}
					lastPic, havePic = pic, true
					if len(p) > 7 && p[6]&0x01 == 0 {
						st.Keyframes++
					}
				}
			}
			c.mu.Unlock()
		}
	}()
}

// orderCheck follows a track's packets in sequence order, for
// TrackStats.Breaks; late (reordered or repaired) packets are left out.
type orderCheck struct {
	started bool
	seq     uint16
	ts      uint32
	pic     uint16
	havePic bool
	missing int // packets missing since the last frame start
}

// packet returns 1 when p breaks the stream in a way loss cannot explain.
func (o *orderCheck) packet(p *rtpView, video bool) int {
	if o.started {
		step := int16(p.seq - o.seq)
		if step <= 0 {
			return 0 // late
		}
		o.missing += int(step) - 1
		if int32(p.ts-o.ts) < 0 {
			o.seq, o.ts = p.seq, p.ts
			return 1
		}
	}
	o.started, o.seq, o.ts = true, p.seq, p.ts
	if !video || len(p.payload) <= 6 || p.payload[0]&0x10 == 0 {
		return 0
	}
	pic := uint16(p.payload[2]&0x7f)<<8 | uint16(p.payload[3])
	skipped := int((pic - o.pic - 1) & 0x7fff)
	broken := o.havePic && skipped > o.missing
	o.pic, o.havePic, o.missing = pic, true, 0
	if broken {
		return 1
	}
	return 0
}

// Received returns a copy of the per-track statistics, keyed by
// "participant/track".
func (c *Client) Received() map[string]TrackStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]TrackStats, len(c.recv))
	for k, v := range c.recv {
		cp := *v
		cp.Layers = make(map[int]int, len(v.Layers))
		for l, n := range v.Layers {
			cp.Layers[l] = n
		}
		cp.SSRCs = make(map[uint32]bool, len(v.SSRCs))
		for s := range v.SSRCs {
			cp.SSRCs[s] = true
		}
		out[k] = cp
	}
	return out
}

// rtpView reads the fields a subscriber checks without allocating.
type rtpView struct {
	seq     uint16
	ts      uint32
	ssrc    uint32
	payload []byte
}

func (v *rtpView) parse(b []byte) bool {
	if len(b) < 12 || b[0]>>6 != 2 {
		return false
	}
	v.seq = uint16(b[2])<<8 | uint16(b[3])
	v.ts = uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
	v.ssrc = uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11])
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < off+4 {
			return false
		}
		off += 4 + 4*(int(b[off+2])<<8|int(b[off+3]))
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > off {
		end -= int(b[end-1])
	}
	if off > end {
		return false
	}
	v.payload = b[off:end]
	return true
}
