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
		{"expiry alone on the last hop", func(in *Input) { in.Hops["fwd-2→us-1"][0].Expired = 3 }, qoe.WhereTrunk, "fwd-2→us-1", "", "3 media messages expired"},
		{"a hop down", func(in *Input) { in.Hops["eu-1→fwd-1"][0].Up = false }, qoe.WhereTrunk, "eu-1→fwd-1", "", "was down"},
		{"heavy loss on hop 1 shows downstream too: hop 1 is blamed", func(in *Input) {
			in.Hops["eu-1→fwd-1"][0].Loss = 0.5
			in.Hops["fwd-2→us-1"][0].Expired = 9
			in.Recv[0].PacketsLost = 300
		}, qoe.WhereTrunk, "eu-1→fwd-1", "", "loss 50%"},
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

// TestCleanIsWeak: the clean route blames nothing with confidence.
func TestCleanIsWeak(t *testing.T) {
	got := Attribute(clean(), DefaultThresholds)
	if !strings.HasPrefix(got.Evidence, "weak") {
		t.Fatalf("%+v", got)
	}
}
