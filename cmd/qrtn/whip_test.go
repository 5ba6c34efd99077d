package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/signaling"
	"github.com/qrtn/qrtn/web/browsertest"
	"github.com/qrtn/qrtn/whip"
)

// whepPlayer is a pion WHEP client that records the video it receives as
// an IVF clip.
type whepPlayer struct {
	pc       *webrtc.PeerConnection
	resource string
	mu       sync.Mutex
	ivf      bytes.Buffer
	w        *ivfwriter.IVFWriter
	packets  int
}

func playWHEP(t *testing.T, url, token string) *whepPlayer {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &whepPlayer{pc: pc}
	if p.w, err = ivfwriter.NewWith(&p.ivf, ivfwriter.WithDirectPTS(), ivfwriter.WithFrameRate(1, 90000)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.packets++
			_ = p.w.WriteRTP(pkt)
			p.mu.Unlock()
		}
	})
	offer, _ := pc.CreateOffer(nil)
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	status, hdr, body := post(t, url, token, pc.LocalDescription().SDP)
	if status != http.StatusCreated || !strings.HasPrefix(hdr.Get("Location"), "/whep/") {
		t.Fatalf("WHEP POST: %d %q %v", status, body, hdr)
	}
	p.resource = hdr.Get("Location")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		t.Fatal(err)
	}
	return p
}

// clip returns what was recorded so far, as IVF frames.
func (p *whepPlayer) clip(t *testing.T) []whip.Frame {
	p.mu.Lock()
	b := bytes.Clone(p.ivf.Bytes())
	p.mu.Unlock()
	frames, err := whip.ReadIVF(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	return frames
}

func post(t *testing.T, url, token, sdp string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(sdp))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// vp8Size reads a key frame's width and height.
func vp8Size(f []byte) (int, int) {
	if len(f) < 10 || f[0]&1 != 0 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0
	}
	return int(binary.LittleEndian.Uint16(f[6:]) & 0x3fff), int(binary.LittleEndian.Uint16(f[8:]) & 0x3fff)
}

// TestBrowserWHIPWHEP runs in the demo network (eu-1, us-1 and two
// forwarding nodes). WHEP: a pion player asking us-1 watches a Chromium
// camera that joined eu-1, and records its VP8 (key frame of the camera's
// size, and a stream of frames). WHIP: a pion publisher sends that clip to
// eu-1, and a Chromium viewer on us-1 decodes it across the trunks.
func TestBrowserWHIPWHEP(t *testing.T) {
	browsertest.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, _ := parseDemoFlags([]string{"--delay", "5ms", "--loss", "0"}, io.Discard)
	spec, _ := f.network()
	net, err := startNetwork(ctx, spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	eu, us := net.Node("eu-1"), net.Node("us-1")
	br := browsertest.StartT(t, browsertest.Options{Logf: t.Logf})
	cam := br.OpenT(t, eu.URL()+"?room=w&name=cam&role=host&autojoin=1&video=320x240@15")
	st, err := cam.WaitStats(ctx, 30*time.Second, "the camera publishing", func(s browsertest.Stats) bool {
		return s.Joined && len(s.Publishing) > 0 && s.Participant != ""
	})
	if err != nil {
		t.Fatal(err)
	}

	// WHEP on the other node: errors first, then a player.
	tok := func(n *node.Node, id string, publish bool) string {
		s, err := n.MintToken(signaling.Grant{Identity: id, Room: "w", Publish: publish, Subscribe: true}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	whepURL := us.URL() + "whep/w/" + st.Participant
	if code, _, _ := post(t, whepURL, "", "v=0"); code != http.StatusUnauthorized {
		t.Errorf("WHEP without a token: %d", code)
	}
	if code, _, _ := post(t, us.URL()+"whep/w/nobody", tok(us, "p0", false), "v=0\r\n"); code != http.StatusNotFound {
		t.Errorf("WHEP of an unknown participant: %d", code)
	}
	player := playWHEP(t, whepURL, tok(us, "player", false))
	var clip []whip.Frame
	deadline := time.Now().Add(45 * time.Second)
	for len(clip) < 60 {
		if time.Now().After(deadline) {
			t.Fatalf("the WHEP player recorded %d frames (%d packets)", len(clip), player.packets)
		}
		time.Sleep(500 * time.Millisecond)
		clip = player.clip(t)
	}
	if w, h := vp8Size(clip[0].Data); w != 320 || h != 240 {
		t.Errorf("the WHEP player's first key frame is %dx%d, want the camera's 320x240", w, h)
	}
	if path := os.Getenv("QRTN_SAVE_CLIP"); path != "" {
		player.mu.Lock()
		_ = os.WriteFile(path, player.ivf.Bytes(), 0o644)
		player.mu.Unlock()
	}
	req, _ := http.NewRequest(http.MethodDelete, us.URL()+strings.TrimPrefix(player.resource, "/"), nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("WHEP DELETE: %v %v", resp, err)
	}

	// WHIP into eu-1, watched by a browser on us-1.
	pub, err := whip.Publish(ctx, eu.URL()+"whip/w", tok(eu, "studio", true), clip)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	viewer := br.OpenT(t, us.URL()+"?room=w&name=viewer&role=viewer&autojoin=1")
	if _, err := viewer.WaitStats(ctx, 45*time.Second, "the WHIP studio's video on us-1", func(s browsertest.Stats) bool {
		v, ok := s.Track("studio", "video")
		return ok && v.FramesDecoded > 30 && v.FrameWidth == 320
	}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Close(); err != nil {
		t.Fatalf("WHIP DELETE: %v", err)
	}
}
