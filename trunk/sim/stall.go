package sim

import (
	"fmt"
	"time"
)

// Stall freezes a node's process for d, as a CPU-starved machine or a long
// pause does: the node is neither polled nor handed datagrams (those
// arriving meanwhile are lost, as a full socket buffer loses them), then
// it runs again at the later time with its state intact. Its trunks stay
// up; its peers see it silent for d.
func (n *Network) Stall(name string, d time.Duration) error {
	nd := n.nodes[name]
	if nd == nil || !nd.up {
		return fmt.Errorf("sim: stall %s: no such running node", name)
	}
	if err := n.sim.Down(nd.Addr); err != nil {
		return err
	}
	n.sim.After(d, func() {
		if nd.up {
			_ = n.sim.Up(nd.Addr)
		}
	})
	return nil
}
