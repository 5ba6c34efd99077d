package loadtest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

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
	track         *webrtc.TrackLocalStaticSample
	keyWanted     atomic.Bool
	lastKey       time.Time
}

// generator sends generated simulcast VP8 and Opus on a publisher
// PeerConnection, and answers keyframe requests (PLI, FIR).
type generator struct {
	cfg         MediaConfig
	layers      []*layer // smallest first
	audio       *webrtc.TrackLocalStaticSample
	videoSender *webrtc.RTPSender
	audioSender *webrtc.RTPSender
	logger      *slog.Logger
	frame       uint32
}

func newGenerator(cfg MediaConfig, stream string, pc *webrtc.PeerConnection, logger *slog.Logger) (*generator, error) {
	g := &generator{cfg: cfg, logger: logger}
	specs := []struct {
		rid     string
		w, h    int
		bitrate int
	}{{"s", 320, 180, cfg.SmallBitrate}, {"l", 1280, 720, cfg.LargeBitrate}}
	for _, s := range specs {
		t, err := webrtc.NewTrackLocalStaticSample(vp8Codec, "video", stream, webrtc.WithRTPStreamID(s.rid))
		if err != nil {
			return nil, fmt.Errorf("loadtest: video track: %w", err)
		}
		g.layers = append(g.layers, &layer{rid: s.rid, width: s.w, height: s.h, track: t,
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
	g.videoSender = tr.Sender()
	if cfg.AudioBitrate > 0 {
		a, err := webrtc.NewTrackLocalStaticSample(opusCodec, "audio", stream)
		if err != nil {
			return nil, fmt.Errorf("loadtest: audio track: %w", err)
		}
		at, err := pc.AddTransceiverFromTrack(a, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, fmt.Errorf("loadtest: audio transceiver: %w", err)
		}
		g.audio, g.audioSender = a, at.Sender()
	}
	for _, l := range g.layers {
		l.keyWanted.Store(true)
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			g.requestKeyframe("") // the first frames may have gone nowhere
		}
	})
	return g, nil
}

// requestKeyframe marks a layer (or all, with "") for a keyframe.
func (g *generator) requestKeyframe(rid string) {
	for _, l := range g.layers {
		if rid == "" || l.rid == rid {
			l.keyWanted.Store(true)
		}
	}
}

// start runs the send loop and the RTCP readers until ctx ends; wg tracks them.
func (g *generator) start(ctx context.Context, wg *sync.WaitGroup) {
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
	var audioSeq uint32
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-vt.C:
			g.frame++
			for _, l := range g.layers {
				key := l.keyWanted.Swap(false) || now.Sub(l.lastKey) >= g.cfg.KeyInterval
				size := l.sizes.delta
				if key {
					size = l.sizes.key
					l.lastKey = now
				}
				p := probe{sent: time.Now(), frame: g.frame, layer: l.rid[0]}
				frame := vp8Frame(size, key, l.width, l.height, p)
				if err := l.track.WriteSample(media.Sample{Data: frame, Duration: videoEvery}); err != nil {
					g.logger.Debug("loadtest: video write", "rid", l.rid, "err", err)
				}
			}
		case <-at.C:
			if g.audio == nil {
				continue
			}
			audioSeq++
			p := probe{sent: time.Now(), frame: audioSeq, layer: 'a'}
			if err := g.audio.WriteSample(media.Sample{Data: opusFrame(audioSize, p), Duration: audioEvery}); err != nil {
				g.logger.Debug("loadtest: audio write", "err", err)
			}
		}
	}
}
