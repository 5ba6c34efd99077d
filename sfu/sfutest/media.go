package sfutest

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// media is the publisher's synthetic media.
type media struct {
	c        *Client
	pc       *webrtc.PeerConnection
	layers   []*layer
	vSender  *webrtc.RTPSender
	aSender  *webrtc.RTPSender
	aTrack   *webrtc.TrackLocalStaticRTP
	level    atomic.Uint32
	vMid     string
	aMid     string
	midExt   uint8
	ridExt   uint8
	levelExt uint8
	once     sync.Once
}

// layer is one simulcast encoding with its own numbering, as a browser
// encoder keeps it.
type layer struct {
	rid    string
	idx    int
	track  *webrtc.TrackLocalStaticRTP
	seq    uint16
	ts     uint32
	pic    uint16
	tl0    uint8
	key    atomic.Bool
	paused atomic.Bool
}

func newMedia(c *Client, pc *webrtc.PeerConnection) (*media, error) {
	m := &media{c: c, pc: pc}
	m.level.Store(uint32(c.opts.AudioLevel))
	for i, rid := range c.opts.Layers {
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if rid != "" {
			opts = append(opts, webrtc.WithRTPStreamID(rid))
		}
		t, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "sfutest", opts...)
		if err != nil {
			return nil, err
		}
		l := &layer{rid: rid, idx: i, track: t, seq: uint16(1000 * (i + 1)), ts: uint32(7e6 * (i + 1)), pic: uint16(100 * (i + 3))}
		l.key.Store(true)
		m.layers = append(m.layers, l)
		if i == 0 {
			tr, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			if err != nil {
				return nil, err
			}
			m.vSender = tr.Sender()
		} else if err := m.vSender.AddEncoding(t); err != nil {
			return nil, err
		}
	}
	if c.opts.Audio {
		cp := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}
		if c.opts.RED {
			cp = webrtc.RTPCodecCapability{MimeType: "audio/red", ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"}
		}
		t, err := webrtc.NewTrackLocalStaticRTP(cp, "audio", "sfutest")
		if err != nil {
			return nil, err
		}
		tr, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, err
		}
		m.aTrack, m.aSender = t, tr.Sender()
	}
	return m, nil
}

// start begins sending once the answer is applied (header extension IDs
// and mids are known then).
func (m *media) start() error {
	var err error
	m.once.Do(func() {
		for _, t := range m.pc.GetTransceivers() {
			switch t.Sender() {
			case m.vSender:
				m.vMid = t.Mid()
			case m.aSender:
				m.aMid = t.Mid()
			}
		}
		ext := func(s *webrtc.RTPSender, uri string) uint8 {
			if s == nil {
				return 0
			}
			for _, h := range s.GetParameters().HeaderExtensions {
				if h.URI == uri {
					return uint8(h.ID)
				}
			}
			return 0
		}
		m.midExt = ext(m.vSender, sdp.SDESMidURI)
		if m.midExt == 0 {
			m.midExt = ext(m.aSender, sdp.SDESMidURI)
		}
		m.ridExt = ext(m.vSender, sdp.SDESRTPStreamIDURI)
		m.levelExt = ext(m.aSender, AudioLevelURI)
		if len(m.layers) > 1 && (m.midExt == 0 || m.ridExt == 0) {
			err = errors.New("sfutest: simulcast header extensions not negotiated")
			return
		}
		c := m.c
		if m.vSender != nil {
			for _, l := range m.layers {
				c.wg.Add(1)
				go func() {
					defer c.wg.Done()
					m.readVideoRTCP(l)
				}()
			}
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				m.videoLoop()
			}()
		}
		if m.aSender != nil {
			c.wg.Add(2)
			go func() {
				defer c.wg.Done()
				for {
					if _, _, err := m.aSender.ReadRTCP(); err != nil {
						return
					}
				}
			}()
			go func() {
				defer c.wg.Done()
				m.audioLoop()
			}()
		}
	})
	return err
}

// readVideoRTCP turns PLIs and FIRs into a key frame on that layer.
func (m *media) readVideoRTCP(l *layer) {
	for {
		var pkts []rtcp.Packet
		var err error
		if l.rid == "" {
			pkts, _, err = m.vSender.ReadRTCP()
		} else {
			pkts, _, err = m.vSender.ReadSimulcastRTCP(l.rid)
		}
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				l.key.Store(true)
			}
		}
	}
}

func (m *media) setPaused(rid string, paused bool) {
	for _, l := range m.layers {
		if l.rid == rid && l.paused.Swap(paused) && !paused {
			l.key.Store(true) // a resumed encoder starts with a key frame
		}
	}
}

func (m *media) videoLoop() {
	t := time.NewTicker(time.Second / time.Duration(m.c.opts.FPS))
	defer t.Stop()
	for {
		select {
		case <-m.c.ctx.Done():
			return
		case <-t.C:
		}
		for _, l := range m.layers {
			if l.paused.Load() {
				continue
			}
			if err := m.writeFrame(l); err != nil && m.closed() {
				return
			}
		}
	}
}

// writeFrame sends one VP8 frame: a payload descriptor with a 15-bit
// picture ID and TL0PICIDX on every packet, a frame header (a key frame
// with its start code when due) on the first, and the layer index as the
// last byte of every packet so subscribers can tell layers apart.
func (m *media) writeFrame(l *layer) error {
	key := l.key.Swap(false)
	n, size := 1+2*l.idx, 300+700*min(l.idx, 1)
	var err error
	for i := 0; i < n; i++ {
		b0 := byte(0x80)
		if i == 0 {
			b0 |= 0x10
		}
		p := make([]byte, 0, size)
		p = append(p, b0, 0xe0, 0x80|byte(l.pic>>8), byte(l.pic), l.tl0, 0x40)
		if i == 0 {
			tag := byte(0x01)
			if key {
				tag = 0x00
			}
			p = append(p, tag, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01)
		}
		for len(p) < size-1 {
			p = append(p, byte(len(p)))
		}
		p = append(p, byte(l.idx))
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == n-1, SequenceNumber: l.seq, Timestamp: l.ts}, Payload: p}
		if m.midExt != 0 {
			_ = pkt.Header.SetExtension(m.midExt, []byte(m.vMid))
		}
		if m.ridExt != 0 && l.rid != "" {
			_ = pkt.Header.SetExtension(m.ridExt, []byte(l.rid))
		}
		l.seq++
		if e := l.track.WriteRTP(pkt); e != nil {
			err = e
		}
	}
	l.ts += 90000 / uint32(m.c.opts.FPS)
	l.pic = (l.pic + 1) & 0x7fff
	l.tl0++
	return err
}

// audioLoop sends 20 ms Opus frames (RED with one redundant block when
// configured) carrying the configured audio level.
func (m *media) audioLoop() {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	seq, ts := uint16(30000), uint32(123456)
	var prev []byte
	for i := 0; ; i++ {
		select {
		case <-m.c.ctx.Done():
			return
		case <-t.C:
		}
		opus := []byte{0xfc, byte(i), byte(i >> 8), 0x11, 0x22, 0x33, 0x44, 0x55}
		payload := opus
		if m.c.opts.RED {
			payload = []byte{111}
			if prev != nil {
				payload = []byte{0x80 | 111, byte(960 >> 6), byte(960&0x3f)<<2 | byte(len(prev)>>8), byte(len(prev)), 111}
				payload = append(payload, prev...)
			}
			payload = append(payload, opus...)
			prev = opus
		}
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == 0, SequenceNumber: seq, Timestamp: ts}, Payload: payload}
		if m.midExt != 0 {
			_ = pkt.Header.SetExtension(m.midExt, []byte(m.aMid))
		}
		if m.levelExt != 0 {
			_ = pkt.Header.SetExtension(m.levelExt, []byte{0x80 | byte(m.level.Load())&0x7f})
		}
		seq++
		ts += 960
		if err := m.aTrack.WriteRTP(pkt); err != nil && m.closed() {
			return
		}
	}
}

// closed tells a write error that ends the media (the connection was
// closed, by Close or by the node's DTLS close_notify) from a passing one:
// during an ICE restart a write can meet the old candidate pair's socket
// already closed ("io: read/write on closed pipe") and the next frames
// flow again once the new pair is chosen.
func (m *media) closed() bool {
	return m.c.ctx.Err() != nil || m.pc.ConnectionState() == webrtc.PeerConnectionStateClosed
}
