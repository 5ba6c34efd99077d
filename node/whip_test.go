package node

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/signaling"
	"github.com/qrtn/qrtn/turnsrv"
	"github.com/qrtn/qrtn/whip"
)

func whipReq(t *testing.T, method, url, token, ctype, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// offerSDP is a real offer from a pion client with a VP8 track.
func offerSDP(t *testing.T) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return o.SDP
}

// TestWHIPProtocol: the RFC 9725 answers of the WHIP and WHEP endpoints:
// 201 with Location, ETag and ICE servers as Link headers (the node's TURN
// with the session's credentials), and the errors: 415, 401, 403, 400,
// 404, 412, 422; PATCH trickle 204, DELETE 200. A pion publisher's track
// shows in the room.
func TestWHIPProtocol(t *testing.T) {
	n := startNode(t, Config{SFU: sfuTestConfig(), TURN: turnsrv.Config{Enabled: true, UDPAddr: "127.0.0.1:0"}})
	pubTok, _ := n.MintToken(signaling.Grant{Identity: "studio", Room: "r", Publish: true}, time.Hour)
	viewTok, _ := n.MintToken(signaling.Grant{Identity: "v", Room: "r", Subscribe: true}, time.Hour)
	otherTok, _ := n.MintToken(signaling.Grant{Identity: "x", Room: "other", Publish: true}, time.Hour)
	u := n.URL() + "whip/r"
	offer := offerSDP(t)
	for _, c := range []struct {
		tok, ctype, body string
		want             int
	}{
		{pubTok, "text/plain", offer, 415},
		{"", "application/sdp", offer, 401},
		{"garbage", "application/sdp", offer, 401},
		{viewTok, "application/sdp", offer, 403},
		{otherTok, "application/sdp", offer, 403},
		{pubTok, "application/sdp", "", 400},
		{pubTok, "application/sdp", "v=0\r\nnot an offer", 400},
	} {
		if resp := whipReq(t, "POST", u, c.tok, c.ctype, c.body, nil); resp.StatusCode != c.want {
			t.Errorf("POST %.8q %s %.12q: %d, want %d", c.tok, c.ctype, c.body, resp.StatusCode, c.want)
		}
	}
	if resp := whipReq(t, "OPTIONS", u, "", "", "", nil); resp.StatusCode != 204 || resp.Header.Get("Accept-Post") != "application/sdp" {
		t.Errorf("OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := whipReq(t, "POST", n.URL()+"whep/r/nobody", viewTok, "application/sdp", offer, nil); resp.StatusCode != 404 {
		t.Errorf("WHEP of nobody: %d", resp.StatusCode)
	}

	// A real session: pion publishes the built-in clip.
	clip, err := whip.DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	c, err := whip.Publish(context.Background(), u, pubTok, clip)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := n.SFU().Room("r").Participant("studio")
		if p != nil && len(p.Tracks()) == 1 && c.Connected() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the WHIP publisher's track never arrived (connected=%v, frames=%d)", c.Connected(), c.Frames())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The headers of a 201, from a second session.
	pc2, _ := webrtc.NewPeerConnection(webrtc.Configuration{})
	defer pc2.Close()
	_, _ = pc2.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	o2, _ := pc2.CreateOffer(nil)
	tok2, _ := n.MintToken(signaling.Grant{Identity: "studio2", Room: "r", Publish: true}, time.Hour)
	resp := whipReq(t, "POST", u, tok2, "application/sdp", o2.SDP, nil)
	loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
	links := strings.Join(resp.Header.Values("Link"), "\n")
	if resp.StatusCode != 201 || !strings.HasPrefix(loc, "/whip/r/session/") || etag == "" || resp.Header.Get("Content-Type") != "application/sdp" ||
		!strings.Contains(links, `rel="ice-server"`) || !strings.Contains(links, "turn:") || !strings.Contains(links, `credential-type="password"`) {
		t.Fatalf("201: %d Location %q ETag %q Link %q", resp.StatusCode, loc, etag, links)
	}
	sess := n.URL() + strings.TrimPrefix(loc, "/")
	frag := "a=ice-ufrag:" + iceUfragOf(o2.SDP) + "\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
	for _, c := range []struct {
		ctype, body string
		hdr         map[string]string
		want        int
	}{
		{"application/sdp", frag, nil, 415},
		{"application/trickle-ice-sdpfrag", frag, map[string]string{"If-Match": `"other"`}, 412},
		{"application/trickle-ice-sdpfrag", "a=ice-ufrag:restart\r\na=ice-pwd:xxxxxxxxxxxxxxxxxxxxxxxx\r\n", nil, 422},
		{"application/trickle-ice-sdpfrag", "nothing", nil, 400},
		{"application/trickle-ice-sdpfrag", frag, map[string]string{"If-Match": etag}, 204},
	} {
		if resp := whipReq(t, "PATCH", sess, tok2, c.ctype, c.body, c.hdr); resp.StatusCode != c.want {
			t.Errorf("PATCH %s %.20q %v: %d, want %d", c.ctype, c.body, c.hdr, resp.StatusCode, c.want)
		}
	}
	if resp := whipReq(t, "PATCH", n.URL()+"whip/r/session/nope", tok2, "application/trickle-ice-sdpfrag", frag, nil); resp.StatusCode != 404 {
		t.Errorf("PATCH of an unknown session: %d", resp.StatusCode)
	}
	if resp := whipReq(t, "DELETE", sess, tok2, "", "", nil); resp.StatusCode != 200 {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}
	if resp := whipReq(t, "DELETE", sess, tok2, "", "", nil); resp.StatusCode != 404 {
		t.Errorf("second DELETE: %d", resp.StatusCode)
	}
}

func iceUfragOf(sdp string) string {
	for _, l := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}
