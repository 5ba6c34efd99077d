// Package sfu is the selective forwarding unit of an access node: rooms,
// participants, the receivers that own published tracks (their simulcast
// layers and packet caches), the down-tracks that forward one track to one
// subscriber, the forwarder that rewrites sequence numbers, timestamps and
// VP8 picture IDs across layer switches, the layer selector that combines a
// subscriber's view preference with its send-side bandwidth estimate
// (transport-cc feedback and our own estimator, bwe.go), dynacast, RED handling, NACK/RTX, FlexFEC and active
// speaker detection.
//
// It knows pion/webrtc, RTP and RTCP. It knows nothing of QRTP, of trunks and
// of websockets: signaling drives it through Participant methods and receives
// Events; a trunk injects remote tracks through Participant.PublishTrack with
// its own Upstream and takes local tracks out through Receiver.AddSink.
//
// # Shape
//
// A Participant has up to two PeerConnections: a publisher PC (the client
// offers, because pion cannot offer simulcast receive) and a subscriber PC
// (the server offers; one offer outstanding, changes folded into the next).
// Each published track is a Receiver with one layer per simulcast encoding.
// Each subscription is a DownTrack, a custom webrtc.TrackLocal. Packets flow
// synchronously: the goroutine reading a publisher layer writes to every
// down-track of that receiver; there are no queues, so nothing buffers audio
// and unmute adds no delay. That holds because a write does not wait for the
// subscriber: UDP never does, and ICE-TCP connections write through a
// bounded queue of their own (tcpconn.go), so a subscriber whose TCP window
// closed loses packets instead of stalling everyone. A down-track decides
// under its mu and writes under its wmu, released from mu first
// (downtrack.go), so a write never holds up the selector, NACKs or another
// layer's decisions on that down-track.
//
// # Codecs, sources, data, quality
//
// Video is VP8, H.264 (packetization-mode 1), VP9 or AV1, forwarded as the
// publisher sent it (codec.go: key frames per codec in h264.go, vp9.go,
// av1.go; a subscriber gets its own payload type and closest H.264
// profile). A VP9 track published as one stream is SVC (svc.go), and so
// is an AV1 one with the dependency descriptor extension (dd.go,
// svc_frame.go): the selector picks a spatial layer and a temporal one
// (svc_temporal.go: frame rate drops before resolution; a subscriber may
// cap the frame rate, prefer_fps.go) and the down-track drops the others; a
// sink (a trunk) of its layer i gets the spatial layers up to i as one
// stream (svc_sink.go), so another node takes it as simulcast (with
// temporal steps per subscriber there too; that node tells its trunk the
// temporal layers its subscribers want, svc_upstream.go, and TemporalCut,
// svc_cut.go, is how a trunk drops the others).
// Tracks have a source (source.go): a screen share is a second video
// track, served before cameras and large by default. Participants that
// join with data channels send and receive data messages (data.go), which
// a trunk carries to the room's other nodes (Room.WatchData,
// Room.InjectData). A subscriber receives what its rules pick
// (subscription.go: selective subscription, and one codec of a camera
// sent with a backup codec, backup.go, chosen by the codecs the client
// declares or, without them, the codecs its answers accept,
// backup_answer.go). grade.go grades each remote participant for each
// subscriber from receiver reports and the forwarded layer, and sends it
// with the path to this node that the node's PathSource tells.
//
// # Seams for trunks
//
// A trunk relays rooms between nodes without WebRTC:
//
//   - Into a room: SFU.Join with ParticipantParams{Remote: true} gives a
//     participant without PeerConnections; its PublishTrack(TrackParams{...,
//     Upstream: u}) returns a Receiver that the trunk feeds with
//     Receiver.WriteRTP(layer, packet, arrival). Local subscribers get it
//     like any track; key frame requests and dynacast come back through u.
//     Such a mirror replaces a local participant of its identity only if
//     it names it (ParticipantParams.Replaces), so that a local session
//     that joined after the trunk looked at the room stays.
//   - Out of a room: Room.Watch follows joins, leaves and tracks;
//     Receiver.AddSink(layer, sink) copies one layer's packets, unchanged, to
//     the sink, and counts as a viewer of that layer for dynacast;
//     Receiver.RequestKeyframe asks the publisher for a key frame.
//
// cascade_test.go relays a browser-published track from one SFU to another
// this way.
//
// # Simulcast layers and SSRCs
//
// A browser's simulcast layers are found by their rid, and its
// retransmissions by repaired-rid. Each layer is bound to the SSRC of its
// media stream once known; packets of another SSRC on a layer are dropped
// and counted (Stats.StrayPackets). A publisher whose RTX carries rid
// instead of repaired-rid makes pion re-point the layer at the RTX stream;
// ridguard.go keeps the layer reading its media stream.
//
// # Layer selection
//
// Each subscriber's video tracks share its bandwidth estimate (selector.go,
// bwe.go). An estimate is only a guess until the estimator lowers it and the lowering is
// confirmed as congestion (congestion.go: overuse or loss still there half a
// second later; CPU scheduling jitter leaves neither): without that
// evidence every track keeps its layer and the estimate only limits going
// up. A main view never drops below its smallest layer for bandwidth;
// thumbnails are paused first. Going back up after a bandwidth downgrade
// waits 2 s, doubling up to 16 s when a track is pushed down again soon
// after going up. Before going up past the estimate, the subscriber is
// probed (probe.go, padder.go): RTX copies of recent packets bring what it
// receives up to what the wanted layers cost for 1.5 s; if the estimate
// does not fall meanwhile, that rate is the selector's budget.
//
// # Dynacast
//
// A layer that no subscriber (and no sink) selects, and no subscriber's view
// preference asks for, for a while is paused at the publisher: the receiver calls Upstream.SetLayersWanted, which for a
// browser publisher becomes a `publish_layers` signaling message telling the
// client which simulcast encodings to keep active (RTCRtpSender.setParameters
// with encodings[i].active). A layer that becomes wanted again is resumed at
// once; the encoder restarts with a key frame. Pausing waits for
// Config.DynacastPauseAfter so that a subscriber flipping between thumbnail
// and main view does not restart encoders. For a trunk-fed receiver the same
// call tells the far node which layers to carry across the trunk.
//
// Two guards keep dynacast from collapsing a room when the node or a
// publisher stalls (every layer paused, the publisher told [] and nothing
// left to resume from): a layer that stops arriving is taken as unavailable
// (and, when unwatched, as failed for a back-off) only while another layer
// of the track still arrives, since a whole track falling silent says
// nothing about one layer; and a subscriber the selector pauses for want of
// bandwidth still counts as watching the smallest layer. A failed layer
// that a preference asks for stays active at the publisher (a browser sends
// it again when its own estimate allows); a preference raised to it
// retries it at once.
package sfu
