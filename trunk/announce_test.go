package trunk

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/trunk/route"
)

func viewOf(tr *Trunk, name string) (NodeView, bool) {
	for _, v := range tr.Nodes() {
		if v.Name == name {
			return v, true
		}
	}
	return NodeView{}, false
}

// TestAnnounce: a node's draining flag, users and coordinates reach the
// other nodes' Nodes view through flooded link state (draining at once,
// not at the next interval), and a stopped node is seen as unlinked as
// soon as its neighbours report their trunks to it down.
func TestAnnounce(t *testing.T) {
	nodes := startNet(t, netSpec{
		nodes:  map[string]route.Role{"a": route.Access, "b": route.Access, "f": route.Forwarding},
		trunks: [][2]string{{"a", "f"}, {"b", "f"}},
		// A long interval: draining must not wait for it.
		mod: func(c *Config) { c.LinkStateInterval = 5 * time.Second },
	})
	waitTrunks(t, nodes)
	a, b := nodes["a"].tr, nodes["b"].tr
	if v := a.Nodes()[0]; !v.Self || v.Name != "a" || !v.Linked {
		t.Fatalf("a's own view first: %+v", v)
	}
	a.SetLocation(48.8, 2.3)
	a.SetUsers(3, 100)
	if v := a.Nodes()[0]; v.Users != 3 || v.UserCap != 100 || v.Lat != 48.8 {
		t.Fatalf("own announce not current: %+v", v)
	}
	waitFor(t, 5*time.Second, "b sees a linked", func() bool { v, ok := viewOf(b, "a"); return ok && v.Linked })
	a.SetDraining(true)
	waitFor(t, 2*time.Second, "b sees a draining, with its users and place", func() bool {
		v, _ := viewOf(b, "a")
		return v.Draining && v.Users == 3 && v.UserCap == 100 && v.Lat == 48.8 && v.Lon == 2.3 && v.Region == "r-a"
	})
	a.SetDraining(false)
	waitFor(t, 2*time.Second, "b sees a back", func() bool { v, _ := viewOf(b, "a"); return !v.Draining })

	_ = a.Close()
	waitFor(t, 3*time.Second, "b sees a unlinked", func() bool { v, ok := viewOf(b, "a"); return !ok || !v.Linked })
	if v, _ := viewOf(b, "f"); !v.Linked {
		t.Errorf("f should stay linked: %+v", v)
	}
}
