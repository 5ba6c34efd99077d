package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// errRoomClosed: the room emptied while a join raced with it.
var errRoomClosed = errors.New("sfu: room closed")

// SFU is the selective forwarding unit of one access node.
type SFU struct {
	cfg   Config
	log   *slog.Logger
	eng   *engine
	stats counters

	paths atomic.Pointer[PathSource] // grade.go

	// roomOpened is called after a join opened a room (OnRoomOpen).
	roomOpened atomic.Pointer[func(room string)]

	mu       sync.Mutex
	defaults func(room string) (RoomOptions, bool) // SetRoomDefaults
	rooms    map[string]*Room
	closed   bool
	all      []*Room // every room ever started and not yet stopped, for Close
	// closers are participant removals started from pion callbacks
	// (closeLater); Close waits for them.
	closers sync.WaitGroup
}

// closeLater closes p on a goroutine of its own, owned by the SFU: pion
// callbacks cannot close the connection they run for. Once the SFU closes,
// Close removes every participant itself and nothing more is started.
func (s *SFU) closeLater(p *Participant, reason error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closers.Add(1)
	go func() {
		defer s.closers.Done()
		p.close(reason)
	}()
}

// New opens the SFU's sockets. It must be closed.
func New(cfg Config, logger *slog.Logger) (*SFU, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	if cfg.FlexFECMedia >= videoSlots {
		return nil, fmt.Errorf("sfu: flexfec_media %d must be below %d", cfg.FlexFECMedia, videoSlots)
	}
	s := &SFU{cfg: cfg, log: logger, rooms: map[string]*Room{}}
	eng, err := newEngine(cfg, logger, &s.stats)
	if err != nil {
		return nil, err
	}
	s.eng = eng
	return s, nil
}

// UDPAddr is the address of the ICE UDP socket.
func (s *SFU) UDPAddr() net.Addr { return s.eng.udp.LocalAddr() }

// TCPAddr is the address of the ICE-TCP listener, nil when disabled.
func (s *SFU) TCPAddr() net.Addr {
	if s.eng.tcp == nil {
		return nil
	}
	return s.eng.tcp.Addr()
}

// ICEServers are the STUN/TURN servers handed to clients.
func (s *SFU) ICEServers() []ICEServer { return slices.Clone(s.cfg.ICEServers) }

// Room returns the room with that name, or nil.
func (s *SFU) Room(name string) *Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[name]
}

// OnRoomOpen sets fn to be called, on the joining goroutine and with no
// lock held, after a join opened a room: a trunk mirrors the room's remote
// participants at once instead of at its next look. One callback; nil
// removes it. fn must not block.
func (s *SFU) OnRoomOpen(fn func(room string)) {
	if fn == nil {
		s.roomOpened.Store(nil)
		return
	}
	s.roomOpened.Store(&fn)
}

// Rooms lists the open rooms, in no particular order. A trunk uses it to
// find the rooms it must announce to other nodes.
func (s *SFU) Rooms() []*Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		out = append(out, r)
	}
	return out
}

// Join puts a participant into a room, creating the room (with mode) if
// needed. The participant's first event is Joined.
func (s *SFU) Join(room, mode string, pp ParticipantParams) (*Participant, error) {
	if pp.ID == "" {
		return nil, errors.New("sfu: participant without an ID")
	}
	if pp.Name == "" {
		pp.Name = pp.ID
	}
	if mode == "" {
		mode = "meeting"
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		r := s.rooms[room]
		opened := r == nil
		if opened {
			r = s.newRoomFor(room, mode)
			s.rooms[room] = r
			s.all = append(s.all, r)
		}
		s.mu.Unlock()

		since := pp.Since
		if since.IsZero() {
			since = time.Now()
		}
		p := &Participant{id: pp.ID, name: pp.Name, canPub: pp.CanPublish, canSub: pp.CanSubscribe, remote: pp.Remote, keepReplaced: pp.KeepWhenReplaced,
			onEvent: pp.OnEvent, since: since, room: r, sfu: s, stats: &s.stats, done: make(chan struct{}),
			log:   s.log.With("room", room, "participant", pp.ID),
			prefs: map[string]Quality{}, mutedKinds: map[webrtc.RTPCodecType]bool{}, subs: newSubscription(pp)}
		if pp.CanSubscribe && !pp.Remote {
			sub, err := newSubscriber(p)
			if err == nil && pp.Data {
				sub.data, err = newDataChannels(p, sub.pc)
				if err != nil {
					sub.close()
				}
			}
			if err != nil {
				r.leaveDone()
				return nil, err
			}
			p.sub = sub
		}
		old, err := r.join(p, pp.Replaces)
		if errors.Is(err, errRoomClosed) {
			p.discard()
			continue
		}
		if err != nil {
			p.discard()
			r.leaveDone()
			return nil, err
		}
		// A trunk's mirror replaced by the participant itself (it moved
		// here) is left to the trunk (KeepWhenReplaced): its tracks carry
		// the old node's media until the new session's reach the same
		// subscribers.
		if old != nil && !(old.remote && old.keepReplaced && !p.remote) {
			p.log.Debug("replaces its identity's session", "remote", p.remote, "old_remote", old.remote,
				"since", p.since.UnixMilli(), "old_since", old.since.UnixMilli())
			old.close(ErrReplaced)
		}
		r.afterJoin(p, old != nil)
		if fn := s.roomOpened.Load(); opened && fn != nil {
			(*fn)(room)
		}
		return p, nil
	}
}

// dropRoom forgets a room that closed itself.
func (s *SFU) dropRoom(r *Room) {
	s.mu.Lock()
	if s.rooms[r.name] == r {
		delete(s.rooms, r.name)
	}
	s.all = slices.DeleteFunc(s.all, func(x *Room) bool { return x == r })
	s.mu.Unlock()
	<-r.done
}

// Stats is a snapshot for metrics.
func (s *SFU) Stats() Stats {
	st := Stats{
		BytesForwarded: s.stats.bytesForwarded.Load(), PacketsForwarded: s.stats.packetsForwarded.Load(),
		NACKs: s.stats.nacksReceived.Load(), Retransmits: s.stats.retransmits.Load(), ProbePackets: s.stats.probePackets.Load(),
		PLIErrors: s.stats.keyframeReqErrors.Load(), TCPDrops: s.stats.tcpDrops.Load(),
		PLIs: s.stats.keyframeReqs.Load(), KeyframeReplays: s.stats.keyframeReplays.Load(), LayerSwitches: s.stats.layerSwitches.Load(),
		BadPackets: s.stats.badPackets.Load(), FECPackets: s.stats.fecPackets.Load(), FECBytes: s.stats.fecBytes.Load(),
		PublisherRTX: s.stats.publisherRTX.Load(), StrayPackets: s.stats.strayPackets.Load(), DDErrors: s.stats.ddErrors.Load(),
		DataReceived: s.stats.dataReceived.Load(), DataSent: s.stats.dataSent.Load(), DataDropped: s.stats.dataDropped.Load(),
	}
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	st.Rooms = len(rooms)
	for _, r := range rooms {
		for _, p := range r.Participants() {
			st.Participants++
			st.Tracks += len(p.Tracks())
			if p.sub != nil {
				st.DownTracks += p.sub.downTracks()
			}
		}
	}
	return st
}

// Close removes every participant (each gets Closed{ErrClosed}), stops the
// rooms and closes the sockets.
func (s *SFU) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	rooms := slices.Clone(s.all)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rooms {
		for _, p := range r.Participants() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.close(ErrClosed)
			}()
		}
	}
	wg.Wait()
	s.closers.Wait()
	for _, r := range rooms {
		// A join that passed the closed check before Close may still land.
		for _, p := range r.Participants() {
			p.close(ErrClosed)
		}
		r.closeIfEmpty(time.Now(), true)
		<-r.done
	}
	return s.eng.close()
}
