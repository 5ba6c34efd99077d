package perf

import (
	"time"
)

// result builds the summary from the server's result message and this
// side's figures at stopAt.
func (t *clientTest) result(stopAt time.Time, localSnap *snapshot, recvBytes int64, m ctrlMsg) (*Result, error) {
	r := &Result{
		Mode: t.cfg.Mode, Handshake: t.conn.HandshakeKind(), Profile: t.cfg.Profile,
		ClockOffsetMS: ms(t.offset), HandshakeMS: ms(t.setup),
	}
	var send *snapshot
	var media *mediaStats
	if t.cfg.Reverse {
		r.Direction, r.MeasuredBy = "server->client", "client"
		send = m.Snap
		r.DurationS = stopAt.Sub(t.start).Seconds()
		r.BytesReceived = recvBytes
		if mr, ok := t.local.(*mediaReceiver); ok {
			// Frames sent just before the stop may still arrive.
			time.Sleep(time.Until(stopAt.Add(grace(t.cfg.Deadline))))
			end := stopAt.Add(time.Duration(send.SmoothedRTT * float64(time.Millisecond) / 2))
			media = mr.finish(m.FramesSent, -t.offset, end)
			r.BytesReceived = media.BytesDelivered
		}
	} else {
		r.Direction, r.MeasuredBy = "client->server", "server"
		send = localSnap
		r.DurationS = m.Snap.Elapsed
		r.BytesReceived = m.Snap.RecvBytes
		media = m.Media
		if media != nil {
			r.BytesReceived = media.BytesDelivered
		}
	}
	if r.DurationS > 0 {
		r.GoodputMbit = float64(r.BytesReceived) * 8 / r.DurationS / 1e6
	}
	if send.Elapsed > 0 {
		r.SentMbit = float64(send.BytesSent) * 8 / send.Elapsed / 1e6
	}
	if send.BytesSent > 0 {
		r.RetransmitRatio = float64(send.BytesRetx) / float64(send.BytesSent)
		r.FECRatio = float64(send.BytesFEC) / float64(send.BytesSent)
	}
	if send.PacketsSent > 0 {
		r.LossRatio = float64(send.PacketsLost) / float64(send.PacketsSent)
	}
	r.RTTMinMS, r.RTTAvgMS = send.MinRTT, send.AvgRTT
	r.CC = send.Controller
	if t.cfg.Mode == ModeMedia {
		r.MediaResult = &MediaResult{DeadlineMS: ms(t.cfg.Deadline), FrameBytes: frameBytes(t.cfg.Bitrate, t.cfg.FPS)}
		if media != nil {
			r.FramesSent, r.FramesDelivered = media.FramesSent, media.FramesDelivered
			r.FramesLate400, r.FramesExpired = media.FramesLate400, media.FramesExpired
			r.LatencyP50MS, r.LatencyP95MS, r.LatencyP99MS = media.P50, media.P95, media.P99
			r.LatencyMaxMS, r.Stalls600 = media.Max, media.Stalls600
			r.FramesLost, r.LateBySecond = media.FramesLost, media.LateBySecond
		}
	}
	return r, nil
}
