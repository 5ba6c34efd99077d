package trunk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func sampleMessages() []message {
	ref := TrackRef{Origin: "eu-1", Room: "demo", ID: "TR_v"}
	return []message{
		{Hello: &Hello{Name: "eu-1", Region: "eu", Role: "access", Version: protocolVersion}},
		{LinkState: &LinkState{Origin: "fwd-1", Seq: 42, Region: "eu", Role: "forwarding", Load: 0.25,
			HTTP: "http://127.0.0.1:1/", Links: []LinkMetric{{Peer: "eu-1", Up: true, RTTMicros: 160000, Loss: 0.1, Bandwidth: 1e8}, {Peer: "us-1"}},
			Announce: Announce{Draining: true, Users: 2, UserCap: 500, Lat: 51.5, Lon: -0.1}}},
		{Room: &RoomState{Origin: "eu-1", Seq: 7, Room: "demo", Mode: "meeting", Participants: []ParticipantState{
			{ID: "alice", Name: "Alice", Tracks: []TrackState{
				{ID: "TR_v", Kind: "video", Mime: "video/VP8", ClockRate: 90000, Layers: []string{"s", "l"}},
				{ID: "TR_a", Kind: "audio", Mime: "audio/opus", ClockRate: 48000, Channels: 2, Fmtp: "minptime=10;useinbandfec=1", AudioLevelExt: 1, Muted: true}}}}}},
		{Room: &RoomState{Origin: "eu-1", Seq: 8, Room: "demo", Mode: "meeting"}},
		{Room: &RoomState{Origin: "eu-1", Seq: 9, Room: "demo", Mode: "meeting", Base: 7, Gone: []string{"bob"},
			Participants: []ParticipantState{{ID: "carol", Name: "Carol"}}}},
		{RoomRequest: &RoomRequest{Origin: "eu-1", Room: "demo"}},
		{Subscribe: &Subscribe{Track: ref, Layers: 3, Path: []string{"eu-1", "fwd-1", "us-1"}}},
		{Subscribe: &Subscribe{Track: ref}},
		{Subscribe: &Subscribe{Track: ref, Layers: 1, Path: []string{"eu-1", "us-1"}, Mode: "live", Kind: "audio"}},
		{Interest: &Interest{Rooms: []string{"demo", "show"}, On: true}},
		{Hello: &Hello{Name: "eu-2", Region: "eu", Role: "access", Version: 4, Scope: "rooms"}},
		{Subscribe: &Subscribe{Track: ref, Layers: 6, Path: []string{"eu-1", "us-1"}, TL: []int{7, 0, 1}}},
		{Bind: &Bind{Stream: 9, Track: ref, Layer: 1, Kind: "video"}},
		{Keyframe: &Keyframe{Track: ref, Layer: 0}},
		{Unavailable: &Unavailable{Track: ref, Reason: "loop"}},
		{Data: &DataMessage{Origin: "eu-1", Seq: 11, Room: "demo", From: "alice", To: []string{"bob"}, Topic: "chat", Payload: "hi"}},
		{Room: &RoomState{Origin: "eu-1", Seq: 9, Room: "demo", Mode: "meeting", Participants: []ParticipantState{
			{ID: "bob", Tracks: []TrackState{{ID: "TR_s", Kind: "video", Mime: "video/H264", ClockRate: 90000, Source: "screen"}}}}}},
		{Room: &RoomState{Origin: "eu-1", Seq: 9, Room: "held", Mode: "live", Opts: &RoomOpts{MaxParticipants: 5, EmptyTimeoutMs: 60000}}},
		{Command: &Command{ID: 1, From: "eu-1", To: "us-1", Op: "remove", Body: []byte(`{"room":"demo"}`)}},
		{Reply: &Reply{ID: 1, From: "us-1", To: "eu-1", Status: 200, Body: []byte(`{}`)}},
	}
}

func TestFrameRoundTrip(t *testing.T) {
	var stream []byte
	msgs := sampleMessages()
	for _, m := range msgs {
		var err error
		if stream, err = appendFrame(stream, m); err != nil {
			t.Fatal(err)
		}
	}
	// Frames split anywhere parse once whole.
	for cut := 0; cut < len(stream); cut += 7 {
		if _, n, err := parseFrame(stream[:cut]); err != nil || (n > 0 && n > cut) {
			t.Fatalf("prefix of %d bytes: n=%d err=%v", cut, n, err)
		}
	}
	for i, want := range msgs {
		got, n, err := parseFrame(stream)
		if err != nil || n == 0 {
			t.Fatalf("message %d: n=%d err=%v", i, n, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("message %d:\n got %+v\nwant %+v", i, got, want)
		}
		stream = stream[n:]
	}
	if len(stream) != 0 {
		t.Errorf("%d bytes left", len(stream))
	}
}

func TestFrameRejects(t *testing.T) {
	frame := func(body string) []byte {
		return append(binary.AppendUvarint(nil, uint64(len(body))), body...)
	}
	long := strings.Repeat("x", maxName+1)
	for name, b := range map[string][]byte{
		"not json":          frame("{"),
		"no member":         frame(`{}`),
		"two members":       frame(`{"pli":{"track":{"o":"a","r":"b","id":"c"},"layer":0},"unavail":{"track":{"o":"a","r":"b","id":"c"}}}`),
		"empty track":       frame(`{"pli":{"track":{"o":"a","r":"","id":"c"},"layer":0}}`),
		"negative layer":    frame(`{"bind":{"stream":1,"track":{"o":"a","r":"b","id":"c"},"layer":-1}}`),
		"big layer":         frame(`{"pli":{"track":{"o":"a","r":"b","id":"c"},"layer":8}}`),
		"long name":         frame(`{"hello":{"name":"` + long + `"}}`),
		"nameless hello":    frame(`{"hello":{"name":""}}`),
		"bad loss":          frame(`{"lsa":{"origin":"a","links":[{"peer":"b","loss":2}]}}`),
		"bad latitude":      frame(`{"lsa":{"origin":"a","lat":91}}`),
		"negative users":    frame(`{"lsa":{"origin":"a","users":-1}}`),
		"bad kind":          frame(`{"room":{"origin":"a","room":"r","participants":[{"id":"p","tracks":[{"id":"t","kind":"data"}]}]}}`),
		"gone, no delta":    frame(`{"room":{"origin":"a","seq":5,"room":"r","gone":["p"]}}`),
		"delta from future": frame(`{"room":{"origin":"a","seq":5,"base":5,"room":"r"}}`),
		"roomreq, no room":  frame(`{"roomreq":{"origin":"a"}}`),
		"temporal too high": frame(`{"sub":{"track":{"o":"a","r":"b","id":"c"},"layers":1,"tl":[8]}}`),
		"temporal negative": frame(`{"sub":{"track":{"o":"a","r":"b","id":"c"},"layers":1,"tl":[-1]}}`),
		"temporal too many": frame(`{"sub":{"track":{"o":"a","r":"b","id":"c"},"layers":1,"tl":[0,0,0,0,0,0,0,0,0]}}`),
		"oversize length":   binary.AppendUvarint(nil, maxFrame+1),
		"overflowed varint": bytes.Repeat([]byte{0xff}, 11),
	} {
		if _, _, err := parseFrame(b); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: err %v, want ErrProtocol", name, err)
		}
	}
}

// FuzzParseFrame: no input panics the decoder, and what it accepts encodes
// back to a frame that parses to the same message.
func FuzzParseFrame(f *testing.F) {
	for _, m := range sampleMessages() {
		b, _ := appendFrame(nil, m)
		f.Add(b)
	}
	f.Add([]byte{0x02, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, n, err := parseFrame(b)
		if err != nil || n == 0 {
			return
		}
		again, err := appendFrame(nil, m)
		if err != nil {
			t.Fatalf("accepted message does not encode: %v", err)
		}
		m2, _, err := parseFrame(again)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encoded message differs: %v\n%+v\n%+v", err, m, m2)
		}
	})
}
