package signaling

import (
	"errors"
	"reflect"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		in   string
		want any
		err  error
	}{
		{`{"type":"join","token":"t","mode":"live"}`, joinMsg{token: "t", mode: "live"}, nil},
		{`{"type":"join","token":"t","room":"r","extra":1}`, joinMsg{token: "t", room: "r"}, nil},
		{`{"type":"join"}`, nil, errBadMessage},
		{`{"type":"join","token":"t","mode":"party"}`, nil, errBadMessage},
		{`{"type":"offer","target":"publisher","sdp":"v=0"}`, offerMsg{sdp: "v=0"}, nil},
		{`{"type":"offer","target":"subscriber","sdp":"v=0"}`, nil, errBadMessage},
		{`{"type":"offer","target":"publisher","sdp":"v=0","sources":{"1":"screen"}}`, offerMsg{sdp: "v=0", sources: map[string]string{"1": "screen"}}, nil},
		{`{"type":"offer","target":"publisher","sdp":"v=0","sources":{"1":"desk"}}`, nil, errBadMessage},
		{`{"type":"answer","target":"subscriber","sdp":"v=0"}`, answerMsg{sdp: "v=0"}, nil},
		{`{"type":"answer","target":"subscriber"}`, nil, errBadMessage},
		{`{"type":"candidate","target":"publisher","candidate":null}`, candidateMsg{target: "publisher"}, nil},
		{`{"type":"candidate","target":"subscriber"}`, nil, errBadMessage},
		{`{"type":"candidate","target":"x","candidate":null}`, nil, errBadMessage},
		{`{"type":"candidate","target":"publisher","candidate":"str"}`, nil, errBadMessage},
		{`{"type":"prefer","participant":"a","layer":"small"}`, preferMsg{participant: "a", layer: "small"}, nil},
		{`{"type":"prefer","participant":"a","layer":"huge"}`, nil, errBadMessage},
		{`{"type":"prefer","participant":"a","layer":"large","track":"TR_1"}`, preferMsg{participant: "a", layer: "large", track: "TR_1"}, nil},
		{`{"type":"prefer","participant":"a","layer":"large","fps":7.5}`, preferMsg{participant: "a", layer: "large", fps: 7.5, hasFPS: true}, nil},
		{`{"type":"prefer","participant":"a","layer":"small","fps":0}`, preferMsg{participant: "a", layer: "small", hasFPS: true}, nil},
		{`{"type":"prefer","participant":"a","layer":"small","fps":-1}`, nil, errBadMessage},
		{`{"type":"prefer","participant":"a","layer":"small","fps":1000}`, nil, errBadMessage},
		{`{"type":"mute","kind":"audio","muted":true}`, muteMsg{kind: "audio", muted: true}, nil},
		{`{"type":"mute","kind":"audio"}`, nil, errBadMessage},
		{`{"type":"leave"}`, leaveMsg{}, nil},
		{`{"type":"join","token":"t","auto_subscribe":false,"codecs":["VP8","opus"]}`, joinMsg{token: "t", manual: true, codecs: []string{"VP8", "opus"}}, nil},
		{`{"type":"join","token":"t","auto_subscribe":true}`, joinMsg{token: "t"}, nil},
		{`{"type":"join","token":"t","codecs":[""]}`, nil, errBadMessage},
		{`{"type":"subscribe","participant":"a","subscribe":true}`, subscribeMsg{participant: "a", on: true}, nil},
		{`{"type":"subscribe","participant":"a","track":"TR_1","subscribe":false}`, subscribeMsg{participant: "a", track: "TR_1"}, nil},
		{`{"type":"subscribe","participant":"a"}`, nil, errBadMessage},
		{`{"type":"subscribe","subscribe":true}`, nil, errBadMessage},
		{`{"type":"offer","target":"publisher","sdp":"v=0","backups":{"2":"1"}}`, offerMsg{sdp: "v=0", backups: map[string]string{"2": "1"}}, nil},
		{`{"type":"offer","target":"publisher","sdp":"v=0","backups":{"1":"1"}}`, nil, errBadMessage},
		{`{"type":"dance"}`, nil, errUnknownType},
		{`{}`, nil, errBadMessage},
		{`[1,2]`, nil, errBadMessage},
		{`not json`, nil, errBadMessage},
		{`{"type":7}`, nil, errBadMessage},
	}
	for _, tc := range tests {
		_, got, err := decode([]byte(tc.in))
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", tc.in, err, tc.err)
			continue
		}
		if tc.err == nil && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.in, got, tc.want)
		}
	}
	_, got, err := decode([]byte(`{"type":"candidate","target":"subscriber","candidate":{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdpMid":"0","sdpMLineIndex":0}}`))
	if err != nil || got.(candidateMsg).candidate == nil || *got.(candidateMsg).candidate.SDPMid != "0" {
		t.Fatalf("candidate object: %v %#v", err, got)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"join","token":"t"}`, `{"type":"candidate","target":"publisher","candidate":{"candidate":"x","sdpMLineIndex":1}}`,
		`{"type":"mute","kind":"video","muted":false}`, `{"type":"prefer","participant":"p","layer":"large"}`, `null`, `{"type":"offer"}`,
		`{"type":"subscribe","participant":"p","subscribe":true}`, `{"type":"join","token":"t","auto_subscribe":false,"codecs":["VP8"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, msg, err := decode(b)
		if (err == nil) == (msg == nil) {
			t.Fatalf("decode(%q) = %v, %v: exactly one must be set", b, msg, err)
		}
		if err != nil && !errors.Is(err, errBadMessage) && !errors.Is(err, errUnknownType) {
			t.Fatalf("decode(%q): untyped error %v", b, err)
		}
	})
}
