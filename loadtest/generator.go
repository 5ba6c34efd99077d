package loadtest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// packetMTU leaves room in pion's 1200-byte packets for the header
// extensions (mid, rid, transport-cc) that the packetizer does not count.
const packetMTU = 1150

// MediaConfig is what a synthetic publisher sends and what a synthetic
// subscriber counts as a stall.
type MediaConfig struct {
	FPS          int           // video frames per second
	LargeBitrate int           // bit/s of simulcast layer "l"
	SmallBitrate int           // bit/s of simulcast layer "s"
	AudioBitrate int           // bit/s of Opus (20 ms packets)
	KeyInterval  time.Duration // periodic keyframes; PLI/FIR also get one
	KeyFactor    int           // a keyframe is this many interframes in size
	VideoStall   time.Duration // no new video frame for this long is a stall
	AudioStall   time.Duration // no new audio packet for this long is a stall
}

// DefaultMedia is 25 fps video at ≈1.5 Mbit/s (l) + ≈150 kbit/s (s) and
// 32 kbit/s audio, with the stall thresholds of the mission's SLA.
func DefaultMedia() MediaConfig {
	return MediaConfig{
		FPS: 25, LargeBitrate: 1_500_000, SmallBitrate: 150_000, AudioBitrate: 32_000,
		KeyInterval: 4 * time.Second, KeyFactor: 5,
		VideoStall: 600 * time.Millisecond, AudioStall: 200 * time.Millisecond,
	}
}

// layer is one simulcast encoding the generator writes.
type layer struct {
	rid           string
	width, height int
	sizes         frameSizes
	track         *webrtc.TrackLocalStaticRTP
	packetizer    rtp.Packetizer
	keyWanted     atomic.Bool
	paused        atomic.Bool // dynacast: nobody watches this layer
	lastKey       time.Time
}

// generator sends generated simulcast VP8 and Opus on a publisher
// PeerConnection, and answers keyframe requests (PLI, FIR). It packetizes
// itself because pion does not stamp the mid and rid header extensions that
// a receiver needs to tell simulcast streams apart (browsers do).
type generator struct {
	cfg         MediaConfig
	layers      []*layer // smallest first
	audio       *webrtc.TrackLocalStaticRTP
	audioPkt    rtp.Packetizer
	videoTr     *webrtc.RTPTransceiver
	audioTr     *webrtc.RTPTransceiver
	videoSender *webrtc.RTPSender
	audioSender *webrtc.RTPSender
	logger      *slog.Logger
	// onEvent, when set, hears what the generator did worth a timeline
	// entry (key frames, pauses and resumes); set before start.
	onEvent func(format string, args ...any)
	frame   uint32
	// header extension ids, known once negotiated (see bindExtensions)
	midID, ridID, levelID uint8
}

// speakingLevel is the RFC 6464 audio level byte every synthetic publisher
// sends: voice activity set, -30 dBov.
const speakingLevel = 0x80 | 30

func newGenerator(cfg MediaConfig, stream string, pc *webrtc.PeerConnection, logger *slog.Logger) (*generator, error) {
	g := &generator{cfg: cfg, logger: logger}
	specs := []struct {
		rid     string
		w, h    int
		bitrate int
	}{{"s", 320, 180, cfg.SmallBitrate}, {"l", 1280, 720, cfg.LargeBitrate}}
	for _, s := range specs {
		t, err := webrtc.NewTrackLocalStaticRTP(vp8Codec, "video", stream, webrtc.WithRTPStreamID(s.rid))
		if err != nil {
			return nil, fmt.Errorf("loadtest: video track: %w", err)
		}
		pz := rtp.NewPacketizer(packetMTU, 96, 0, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)
		g.layers = append(g.layers, &layer{rid: s.rid, width: s.w, height: s.h, track: t, packetizer: pz,
			sizes: newFrameSizes(s.bitrate, cfg.FPS, cfg.KeyInterval, cfg.KeyFactor)})
	}
	tr, err := pc.AddTransceiverFromTrack(g.layers[0].track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, fmt.Errorf("loadtest: video transceiver: %w", err)
	}
	for _, l := range g.layers[1:] {
		if err := tr.Sender().AddEncoding(l.track); err != nil {
			return nil, fmt.Errorf("loadtest: simulcast layer %s: %w", l.rid, err)
		}
	}
	g.videoSender, g.videoTr = tr.Sender(), tr
	if cfg.AudioBitrate > 0 {
		a, err := webrtc.NewTrackLocalStaticRTP(opusCodec, "audio", stream)
		if err != nil {
			return nil, fmt.Errorf("loadtest: audio track: %w", err)
		}
		at, err := pc.AddTransceiverFromTrack(a, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, fmt.Errorf("loadtest: audio transceiver: %w", err)
		}
		g.audio, g.audioSender, g.audioTr = a, at.Sender(), at
		g.audioPkt = rtp.NewPacketizer(packetMTU, 111, 0, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)
	}
	for _, l := range g.layers {
		l.keyWanted.Store(true)
	}
	// The link asks for a keyframe whenever pc connects (the first
	// frames may have gone nowhere): see client.connectionState.
	return g, nil
}

// setActive is dynacast: keep sending only these rids. A resumed layer
// restarts with a keyframe, as a browser's encoder does.
func (g *generator) setActive(rids []string) {
	for _, l := range g.layers {
		active := false
		for _, r := range rids {
			active = active || r == l.rid
		}
		if was := !l.paused.Swap(!active); active && !was {
			g.event("layer %s resumed", l.rid)
			l.keyWanted.Store(true)
		} else if !active && was {
			g.event("layer %s paused", l.rid)
		}
	}
}

// requestKeyframe marks a layer (or all, with "") for a keyframe.
func (g *generator) requestKeyframe(rid string) {
	for _, l := range g.layers {
		if rid == "" || l.rid == rid {
			l.keyWanted.Store(true)
		}
	}
}

// bindExtensions reads the negotiated ids of the mid, rid and audio level
// header extensions; call it after the answer is applied.
func (g *generator) bindExtensions() {
	exts := g.videoSender.GetParameters().HeaderExtensions
	if g.audioSender != nil {
		exts = append(exts, g.audioSender.GetParameters().HeaderExtensions...)
	}
	for _, e := range exts {
		switch e.URI {
		case sdp.SDESMidURI:
			g.midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			g.ridID = uint8(e.ID)
		case sdp.AudioLevelURI:
			g.levelID = uint8(e.ID)
		}
	}
}

// write packetizes one frame and writes it with mid and rid stamped.
func (g *generator) write(t *webrtc.TrackLocalStaticRTP, pz rtp.Packetizer, mid, rid string, frame []byte, samples uint32) error {
	for _, p := range pz.Packetize(frame, samples) {
		if g.midID != 0 && mid != "" {
			if err := p.Header.SetExtension(g.midID, []byte(mid)); err != nil {
				return err
			}
		}
		if g.ridID != 0 && rid != "" {
			if err := p.Header.SetExtension(g.ridID, []byte(rid)); err != nil {
				return err
			}
		}
		if g.levelID != 0 && t == g.audio {
			if err := p.Header.SetExtension(g.levelID, []byte{speakingLevel}); err != nil {
				return err
			}
		}
		if err := t.WriteRTP(p); err != nil {
			return err
		}
	}
	return nil
}

// start runs the send loop and the RTCP readers until ctx ends; wg tracks them.
func (g *generator) start(ctx context.Context, wg *sync.WaitGroup) {
	g.bindExtensions()
	for _, l := range g.layers {
		wg.Add(1)
		go func(rid string) {
			defer wg.Done()
			for {
				pkts, _, err := g.videoSender.ReadSimulcastRTCP(rid)
				if err != nil {
					return
				}
				for _, p := range pkts {
					switch p.(type) {
					case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
						g.event("key frame request for %s from the node", rid)
						g.requestKeyframe(rid)
					}
				}
			}
		}(l.rid)
	}
	if g.audioSender != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := g.audioSender.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.loop(ctx)
	}()
}

func (g *generator) loop(ctx context.Context) {
	videoEvery := time.Second / time.Duration(g.cfg.FPS)
	audioEvery := 20 * time.Millisecond
	vt := time.NewTicker(videoEvery)
	defer vt.Stop()
	at := time.NewTicker(audioEvery)
	defer at.Stop()
	audioSize := g.cfg.AudioBitrate / 8 / 50
	videoSamples := uint32(90000 / g.cfg.FPS)
	videoMid, audioMid := g.videoTr.Mid(), ""
	if g.audioTr != nil {
		audioMid = g.audioTr.Mid()
	}
	var audioSeq uint32
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-vt.C:
			g.frame++
			for _, l := range g.layers {
				if l.paused.Load() {
					continue
				}
				key := l.keyWanted.Swap(false) || now.Sub(l.lastKey) >= g.cfg.KeyInterval
				size := l.sizes.delta
				if key {
					size = l.sizes.key
					l.lastKey = now
					g.event("key frame %d of %s", g.frame, l.rid)
				}
				p := probe{sent: time.Now(), frame: g.frame, layer: l.rid[0]}
				frame := vp8Frame(size, key, l.width, l.height, p)
				if err := g.write(l.track, l.packetizer, videoMid, l.rid, frame, videoSamples); err != nil {
					g.logger.Debug("loadtest: video write", "rid", l.rid, "err", err)
				}
			}
		case <-at.C:
			if g.audio == nil {
				continue
			}
			audioSeq++
			p := probe{sent: time.Now(), frame: audioSeq, layer: 'a'}
			if err := g.write(g.audio, g.audioPkt, audioMid, "", opusFrame(audioSize, p), 960); err != nil {
				g.logger.Debug("loadtest: audio write", "err", err)
			}
		}
	}
}

func (g *generator) event(format string, args ...any) {
	if g.onEvent != nil {
		g.onEvent(format, args...)
	}
}
