package attrib

import (
	"strings"
	"testing"

	"github.com/qrtn/qrtn/qoe"
)

// route eu-1 → fwd-1 → fwd-2 → us-1, clean everywhere: 10 % loss on every
// hop repaired by FEC, healthy nodes and clients.
func clean() Input {
	hop := func(from, to string) []qoe.HopSample {
		return []qoe.HopSample{{From: from, To: to, Up: true, RTTMs: 160, Loss: 0.1, FECK: 10, FECM: 3, Rebuilt: 40}}
	}
	node := func(n string) []qoe.NodeSample { return []qoe.NodeSample{{Node: n, CPU: 0.4, Cores: 2}} }
	return Input{
		Stall:   qoe.Stall{Kind: "video", At: 10_000, DurationMs: 900},
		Path:    []string{"eu-1", "fwd-1", "fwd-2", "us-1"},
		Publish: []qoe.PublishSample{{Kind: "video", Limitation: "none", FPS: 25, RTTMs: 2}},
		Up:      []qoe.UpSample{{Node: "eu-1", Kind: "video", Packets: 900, Start: 5000, End: 10000}},
		Hops: map[string][]qoe.HopSample{
			"eu-1→fwd-1": hop("eu-1", "fwd-1"), "fwd-1→fwd-2": hop("fwd-1", "fwd-2"), "fwd-2→us-1": hop("fwd-2", "us-1"),
		},
		Nodes: map[string][]qoe.NodeSample{"eu-1": node("eu-1"), "fwd-1": node("fwd-1"), "fwd-2": node("fwd-2"), "us-1": node("us-1")},
		Recv:  []qoe.TrackSample{{Kind: "video", PacketsReceived: 1000, PacketsLost: 2, RTTMs: 3}},
		Down:  []qoe.DownSample{{Node: "us-1", Loss: 0.002}},
	}
}

func TestAttribute(t *testing.T) {
	cases := []struct {
		name      string
		change    func(*Input)
		where     string
		hop, node string
		evidence  string // a substring the evidence must hold
	}{
		{"loss and expiry only on hop 2", func(in *Input) {
			in.Hops["fwd-1→fwd-2"][0].Loss, in.Hops["fwd-1→fwd-2"][0].Expired = 0.4, 57
		}, qoe.WhereTrunk, "fwd-1→fwd-2", "", "57 media messages expired"},
		{"expiry on a lossy last hop", func(in *Input) { in.Hops["fwd-2→us-1"][0].Expired = 12 }, qoe.WhereTrunk, "fwd-2→us-1", "", "12 media messages expired"},
		{"expiry on a clean hop is lateness from upstream, not its own", func(in *Input) {
			in.Hops["fwd-2→us-1"][0].Expired, in.Hops["fwd-2→us-1"][0].Loss = 12, 0.01
			in.Up = append(in.Up, qoe.UpSample{Node: "eu-1", Kind: "audio", Packets: 20, MaxGapMs: 700, Start: 9000, End: 10000})
		}, qoe.WhereUplink, "", "", "no audio from the publisher for 700 ms"},
		{"a hop cut: nothing acknowledged, its loss unmeasured; the subscriber's loss is after-effect", func(in *Input) {
			in.Hops["fwd-2→us-1"] = append(in.Hops["fwd-2→us-1"], qoe.HopSample{From: "fwd-2", To: "us-1", Up: true, PTOs: 5, Start: 9000, End: 10000},
				qoe.HopSample{From: "fwd-2", To: "us-1", Up: true, Expired: 41, Start: 10000, End: 11000})
			in.Recv[0].PacketsLost = 500
			in.Down = append(in.Down, qoe.DownSample{Node: "us-1", Loss: 0.9, Start: 10000, End: 11000})
		}, qoe.WhereTrunk, "fwd-2→us-1", "", "5 probe timeouts"},
		{"a hop down", func(in *Input) { in.Hops["eu-1→fwd-1"][0].Up = false }, qoe.WhereTrunk, "eu-1→fwd-1", "", "was down"},
		{"heavy loss on hop 1 shows at the subscriber too: hop 1 is blamed", func(in *Input) {
			in.Hops["eu-1→fwd-1"][0].Loss, in.Hops["eu-1→fwd-1"][0].Expired = 0.5, 40
			in.Recv[0].PacketsLost = 300
			in.Down[0].Loss = 0.3
		}, qoe.WhereTrunk, "eu-1→fwd-1", "", "loss 50%"},
		{"two hops crossed: the one that crossed furthest", func(in *Input) {
			in.Hops["eu-1→fwd-1"][0].Expired = 2
			in.Hops["fwd-2→us-1"][0].Loss, in.Hops["fwd-2→us-1"][0].Expired = 0.45, 30
		}, qoe.WhereTrunk, "fwd-2→us-1", "", "30 media messages expired"},
		{"the publisher's audio stopped first; a trunk let its key frame burst expire after", func(in *Input) {
			in.Up = append(in.Up, qoe.UpSample{Node: "eu-1", Kind: "audio", Packets: 20, MaxGapMs: 900, Start: 8000, End: 9000})
			in.Hops["eu-1→fwd-1"] = append(in.Hops["eu-1→fwd-1"], qoe.HopSample{From: "eu-1", To: "fwd-1", Up: true, Expired: 12, Start: 11000, End: 12000})
		}, qoe.WhereUplink, "", "", "received no audio from the publisher for 900 ms"},
		{"a trunk began first: it, though the publisher's audio paused later", func(in *Input) {
			in.Up = append(in.Up, qoe.UpSample{Node: "eu-1", Kind: "audio", Packets: 20, MaxGapMs: 450, Start: 12000, End: 13000})
			in.Hops["fwd-1→fwd-2"] = append(in.Hops["fwd-1→fwd-2"], qoe.HopSample{From: "fwd-1", To: "fwd-2", Up: true, Expired: 8, Loss: 0.3, Start: 9000, End: 10000})
		}, qoe.WhereTrunk, "fwd-1→fwd-2", "", "8 media messages expired"},
		{"equal: the one nearest the publisher", func(in *Input) {
			in.Hops["eu-1→fwd-1"][0].Expired = 5
			in.Hops["fwd-2→us-1"][0].Expired = 5
		}, qoe.WhereTrunk, "eu-1→fwd-1", "", "5 media messages expired"},
		{"publisher's encoder limited by CPU", func(in *Input) {
			in.Publish[0].Limitation, in.Publish[0].FPS = "cpu", 3
		}, qoe.WhereUplink, "", "", "limited by cpu"},
		{"loss before the first node", func(in *Input) { in.Publish[0].FractionLost = 0.3 }, qoe.WhereUplink, "", "", "publisher's loss 30%"},
		{"the first node received nothing", func(in *Input) { in.Up[0].Packets = 0 }, qoe.WhereUplink, "", "", "received no video packets"},
		{"the first node lost the publisher's packets for good", func(in *Input) {
			in.Up[0].Loss = 0.3
			in.Recv[0].PacketsLost = 300 // what the first node lacks, the subscriber lacks too
		}, qoe.WhereUplink, "", "", "never received 30%"},
		{"loss only after the last node", func(in *Input) {
			in.Recv[0].PacketsLost = 200
			in.Down[0].Loss = 0.2
		}, qoe.WhereDownlink, "", "", "subscriber lost 17%"},
		{"the subscriber's node resent what it NACKed, though a trunk let a key frame expire", func(in *Input) {
			in.Down = append(in.Down, qoe.DownSample{Node: "us-1", NACKs: 200, Resent: 180, Start: 9000, End: 10000})
			in.Hops["fwd-2→us-1"] = append(in.Hops["fwd-2→us-1"], qoe.HopSample{From: "fwd-2", To: "us-1", Up: true, Expired: 4, Start: 9500, End: 10500})
			in.Recv[0].PacketsLost = 200
		}, qoe.WhereDownlink, "", "", "resent 180 of the 200 packets"},
		{"NACKs the node could not answer are upstream loss, not the downlink's", func(in *Input) {
			in.Down = append(in.Down, qoe.DownSample{Node: "us-1", NACKs: 200, Resent: 10, Start: 9000, End: 10000})
			in.Hops["fwd-2→us-1"] = append(in.Hops["fwd-2→us-1"], qoe.HopSample{From: "fwd-2", To: "us-1", Up: true, Expired: 40, Loss: 0.4, Start: 9000, End: 10000})
		}, qoe.WhereTrunk, "fwd-2→us-1", "", "40 media messages expired"},
		{"the downlink was cut: the subscriber's reports lagged behind what its node sent", func(in *Input) {
			in.Down = append(in.Down, qoe.DownSample{Node: "us-1", AckLagMs: 1500, RTTMs: 4, Start: 9000, End: 10000})
		}, qoe.WhereDownlink, "", "", "lagged 1500 ms behind what us-1 sent"},
		{"a cut downlink, then lossy: the lag leads, the loss it saw joins the evidence", func(in *Input) {
			in.Down = append(in.Down, qoe.DownSample{Node: "us-1", AckLagMs: 1400, RTTMs: 4, Loss: 0.3, Start: 9000, End: 10000})
			in.Recv[0].PacketsLost = 300
		}, qoe.WhereDownlink, "", "", "lagged 1400 ms behind what us-1 sent (RTT 4 ms): packets it sent did not arrive; subscriber lost 23%"},
		{"the lag of a long round trip is no evidence", func(in *Input) {
			in.Down = append(in.Down, qoe.DownSample{Node: "us-1", AckLagMs: 650, RTTMs: 500, Start: 9000, End: 10000})
		}, qoe.WhereDownlink, "", "", "weak"},
		{"the subscriber's node measured a huge round trip", func(in *Input) {
			in.Down = append(in.Down, qoe.DownSample{Node: "us-1", AckLagMs: 1300, RTTMs: 1200, Start: 9000, End: 10000})
		}, qoe.WhereDownlink, "", "", "us-1 measured an RTT of 1200 ms"},
		{"loss upstream shows in the subscriber's reports but makes no lag: the trunk", func(in *Input) {
			in.Hops["fwd-1→fwd-2"][0].Loss, in.Hops["fwd-1→fwd-2"][0].Expired = 0.35, 20
			in.Down = append(in.Down, qoe.DownSample{Node: "us-1", AckLagMs: 30, RTTMs: 4, Loss: 0.3, NACKs: 150, Start: 9000, End: 10000})
			in.Recv[0].PacketsLost = 300
		}, qoe.WhereTrunk, "fwd-1→fwd-2", "", "20 media messages expired"},
		{"a trunk cut first; the downlink lagged a sample later", func(in *Input) {
			in.Hops["fwd-2→us-1"] = append(in.Hops["fwd-2→us-1"], qoe.HopSample{From: "fwd-2", To: "us-1", Up: true, Loss: 0.9, Expired: 60, Start: 8000, End: 9000})
			in.Down = append(in.Down, qoe.DownSample{Node: "us-1", AckLagMs: 900, RTTMs: 4, Start: 10000, End: 11000})
		}, qoe.WhereTrunk, "fwd-2→us-1", "", "60 media messages expired"},
		{"subscriber RTT huge", func(in *Input) { in.Recv[0].RTTMs = 1500 }, qoe.WhereDownlink, "", "", "RTT 1500 ms"},
		{"a forwarding node out of CPU", func(in *Input) { in.Nodes["fwd-2"][0].CPU = 1.95 }, qoe.WhereNode, "", "fwd-2", "CPU 98%"},
		{"the subscriber's node drops from its queues", func(in *Input) { in.Nodes["us-1"][0].Drops = 120 }, qoe.WhereNode, "", "us-1", "120 media packets dropped"},
		{"nothing crossed: the hop closest to a threshold, said to be weak", func(in *Input) {
			in.Hops["fwd-1→fwd-2"][0].Loss = 0.2
		}, qoe.WhereTrunk, "fwd-1→fwd-2", "", "weak"},
		{"all clean: the subscriber's side, said to be weak", func(in *Input) {
			for k := range in.Hops {
				in.Hops[k][0].Loss = 0
			}
			for k := range in.Nodes {
				in.Nodes[k][0].CPU = 0
			}
			in.Recv[0].PacketsLost, in.Recv[0].RTTMs, in.Down[0].Loss = 0, 0, 0
			in.Publish[0].RTTMs = 0
		}, qoe.WhereDownlink, "", "", "every hop and node was well within"},
		{"same node, no trunk: the node", func(in *Input) {
			in.Path = []string{"eu-1"}
			in.Nodes["eu-1"][0].Drops = 5
		}, qoe.WhereNode, "", "eu-1", "5 media packets dropped"},
		{"no records at all", func(in *Input) { *in = Input{Stall: in.Stall} }, qoe.WhereDownlink, "", "", "weak"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := clean()
			c.change(&in)
			got := Attribute(in, DefaultThresholds)
			if got.Where != c.where || got.Hop != c.hop || got.Node != c.node || !strings.Contains(got.Evidence, c.evidence) {
				t.Fatalf("got %+v, want where=%s hop=%q node=%q with %q", got, c.where, c.hop, c.node, c.evidence)
			}
		})
	}
}

// TestEvidenceOnce: a stall across many samples names each figure once,
// from the sample where it was worst.
func TestEvidenceOnce(t *testing.T) {
	in := clean()
	for i, l := range []float64{0.3, 0.55, 0.4} {
		in.Hops["fwd-1→fwd-2"] = append(in.Hops["fwd-1→fwd-2"], qoe.HopSample{From: "fwd-1", To: "fwd-2", Up: true, Loss: l,
			Expired: 10 + i, Start: int64(8000 + 1000*i), End: int64(9000 + 1000*i)})
	}
	got := Attribute(in, DefaultThresholds)
	want := "fwd-1→fwd-2: 12 media messages expired (deadline missed) ≥ 5 at 40% loss; fwd-1→fwd-2: loss 55% ≥ 25%"
	if got.Hop != "fwd-1→fwd-2" || got.Evidence != want {
		t.Fatalf("got %q, want %q", got.Evidence, want)
	}
}

// TestCleanIsWeak: the clean route blames nothing with confidence.
func TestCleanIsWeak(t *testing.T) {
	got := Attribute(clean(), DefaultThresholds)
	if !strings.HasPrefix(got.Evidence, "weak") {
		t.Fatalf("%+v", got)
	}
}
