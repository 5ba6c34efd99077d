package sfutest

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// gatheringWait bounds how long the client waits for a connection's
// candidate gathering to end before it (re)starts ICE on it.
const gatheringWait = 5 * time.Second

// awaitGathering returns once pc's candidate gathering is not running, or
// after gatheringWait. pion/ice v4.4.2's gathering goroutines read the
// agent's ufrag without its lock (gatherCandidatesLocalUDPMux) while
// Agent.Restart writes it: an ICE restart must not overlap a gathering.
// The client restarts its agent itself (RestartPublisherICE), and pion
// restarts it when the node's offer brings new credentials (HandleOffer);
// two restarts in a row then raced under -race. A browser has no such
// race; waiting here keeps the test about the node.
func awaitGathering(pc *webrtc.PeerConnection) {
	if pc.ICEGatheringState() != webrtc.ICEGatheringStateGathering {
		return
	}
	t := time.NewTimer(gatheringWait)
	defer t.Stop()
	select {
	case <-webrtc.GatheringCompletePromise(pc):
	case <-t.C:
	}
}
