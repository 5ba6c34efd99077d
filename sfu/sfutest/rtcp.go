package sfutest

import (
	"errors"

	"github.com/pion/rtcp"
)

// WriteSubscriberRTCP sends RTCP to the node on the subscriber connection,
// as a browser's receiver would (transport-cc feedback naming an SSRC of
// its choice, for instance).
func (c *Client) WriteSubscriberRTCP(pkts []rtcp.Packet) error {
	c.mu.Lock()
	pc := c.sub
	c.mu.Unlock()
	if pc == nil {
		return errors.New("sfutest: no subscriber connection")
	}
	return pc.WriteRTCP(pkts)
}
