package whip

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// Client is a small WHIP publisher: it sends a VP8 clip (an IVF file) in a
// loop to a WHIP endpoint, restarting the clip from its first frame (a key
// frame) when the node asks for a key frame. `qrtn whip` runs it.
type Client struct {
	pc       *webrtc.PeerConnection
	resource string // the session's URL, for DELETE
	token    string
	frames   atomic.Uint64
	restart  atomic.Bool
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// Frame is one frame of a clip.
type Frame struct {
	Data     []byte
	Duration time.Duration
}

// ReadIVF reads a VP8 IVF clip into frames.
func ReadIVF(r io.Reader) ([]Frame, error) {
	rd, hdr, err := ivfreader.NewWith(r)
	if err != nil {
		return nil, fmt.Errorf("whip: ivf: %w", err)
	}
	if hdr.FourCC != "VP80" {
		return nil, fmt.Errorf("whip: ivf codec %q: only VP8 (VP80) is published", hdr.FourCC)
	}
	dur := time.Second / 30
	var frames []Frame
	var lastTS uint64
	for i := 0; ; i++ {
		f, fh, err := rd.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("whip: ivf frame %d: %w", i, err)
		}
		// pion's reader scales the PTS by denominator/numerator; a PTS
		// counts numerator/denominator seconds.
		d := dur
		if i > 0 && fh.Timestamp > lastTS && hdr.TimebaseDenominator > 0 && hdr.TimebaseNumerator > 0 {
			scale := float64(hdr.TimebaseNumerator) / float64(hdr.TimebaseDenominator)
			d = time.Duration(float64(fh.Timestamp-lastTS) * scale * scale * float64(time.Second))
		}
		if d < time.Millisecond || d > time.Second {
			d = time.Second / 30 // a broken or variable timebase: play at 30 fps
		}
		if i > 0 {
			frames[i-1].Duration = d
		}
		lastTS = fh.Timestamp
		frames = append(frames, Frame{Data: f, Duration: dur})
		if len(frames) > 100_000 {
			return nil, errors.New("whip: ivf clip over 100000 frames")
		}
	}
	if len(frames) == 0 || frames[0].Data[0]&1 != 0 {
		return nil, errors.New("whip: the clip must start with a VP8 key frame")
	}
	return frames, nil
}

// Publish offers a VP8 track to the WHIP endpoint (http://node/whip/ROOM)
// with the bearer token, and sends the clip in a loop until Close.
func Publish(ctx context.Context, endpoint, token string, clip []Frame) (*Client, error) {
	if len(clip) == 0 {
		return nil, errors.New("whip: empty clip")
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	c := &Client{pc: pc, token: token, stop: make(chan struct{})}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "whip")
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	if err := c.offer(ctx, endpoint); err != nil {
		_ = pc.Close()
		return nil, err
	}
	c.wg.Add(2)
	go c.readRTCP(tr.Sender())
	go c.send(track, clip)
	return c, nil
}

// offer POSTs the offer (all candidates gathered: no trickle) and applies
// the answer.
func (c *Client) offer(ctx context.Context, endpoint string) error {
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return ctx.Err()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(c.pc.LocalDescription().SDP))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("whip: POST %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxSDP))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("whip: POST %s: %s: %s", endpoint, resp.Status, bytes.TrimSpace(body))
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return fmt.Errorf("whip: POST %s: no Location for the session", endpoint)
	}
	base, _ := url.Parse(endpoint)
	c.resource = base.ResolveReference(loc).String()
	return c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)})
}

// send plays the clip in a loop at its frame rate.
func (c *Client) send(track *webrtc.TrackLocalStaticSample, clip []Frame) {
	defer c.wg.Done()
	next := time.Now()
	for i := 0; ; i = (i + 1) % len(clip) {
		if c.restart.Swap(false) {
			i = 0
		}
		f := clip[i]
		if err := track.WriteSample(media.Sample{Data: f.Data, Duration: f.Duration}); err == nil {
			c.frames.Add(1)
		}
		next = next.Add(f.Duration)
		select {
		case <-c.stop:
			return
		case <-time.After(time.Until(next)):
		}
	}
}

// readRTCP restarts the clip (from its key frame) when the node asks for
// a key frame, at most once a second.
func (c *Client) readRTCP(s *webrtc.RTPSender) {
	defer c.wg.Done()
	var last time.Time
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if time.Since(last) > time.Second {
					last = time.Now()
					c.restart.Store(true)
				}
			}
		}
	}
}

// Frames counts the frames sent.
func (c *Client) Frames() uint64 { return c.frames.Load() }

// Connected reports whether the media connection is up.
func (c *Client) Connected() bool {
	return c.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

// Close ends the session (DELETE) and the connection.
func (c *Client) Close() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		if c.resource != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, c.resource, nil)
			req.Header.Set("Authorization", "Bearer "+c.token)
			if resp, e := http.DefaultClient.Do(req); e == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("whip: DELETE: %s", resp.Status)
				}
			} else {
				err = e
			}
		}
		_ = c.pc.Close()
		c.wg.Wait()
	})
	return err
}

// clipIVF is a short VP8 clip (320x240, 20 fps, about 3 s of Chromium's
// synthetic camera), played when no file is given.
//
//go:embed clip.ivf
var clipIVF []byte

// DefaultClip is the embedded clip.
func DefaultClip() ([]Frame, error) { return ReadIVF(bytes.NewReader(clipIVF)) }
