package sfu

import (
	"slices"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestBackupCodecSVC: a camera published as one SVC stream (VP9, or AV1
// with the dependency descriptor) with a VP8 simulcast backup, and a
// screen share in the same codec with its own: a subscriber that decodes the
// primary gets it, as SVC (three spatial layers to choose from), one that
// decodes only VP8 gets each backup under its primary's ID; nobody is told
// of the backups; a backup nobody receives any more is paused.
func TestBackupCodecSVC(t *testing.T) {
	for _, c := range []struct {
		name, mime string
		dd         uint8
	}{{"VP9", webrtc.MimeTypeVP9, 0}, {"AV1", webrtc.MimeTypeAV1, 5}} {
		t.Run(c.name, func(t *testing.T) { backupCodecSVC(t, c.mime, c.dd) })
	}
}

func backupCodecSVC(t *testing.T, mime string, dd uint8) {
	s := newTestSFU(t, nil)
	defer s.Close()
	all, vp8, pub := backupRoom(t, s, mime)
	defer pub.Close()
	backupUp := &wantRecorder{}
	backup, err := pub.PublishTrack(TrackParams{ID: "B", Kind: webrtc.RTPCodecTypeVideo, Codec: video(webrtc.MimeTypeVP8),
		Layers: []string{"s", "l"}, Upstream: backupUp, BackupFor: "P"})
	if err != nil {
		t.Fatal(err)
	}
	primary, err := pub.PublishTrack(TrackParams{ID: "P", Kind: webrtc.RTPCodecTypeVideo, Codec: video(mime),
		DDExt: dd, Upstream: &wantRecorder{}})
	if err != nil {
		t.Fatal(err)
	}
	if !primary.svc || !slices.Equal(primary.Info().Layers, svcRIDs) {
		t.Fatalf("the primary is not SVC: svc %v, layers %v", primary.svc, primary.Info().Layers)
	}
	screen, err := pub.PublishTrack(TrackParams{ID: "S", Kind: webrtc.RTPCodecTypeVideo, Codec: video(mime),
		Layers: []string{"s", "l"}, Upstream: &wantRecorder{}, Source: SourceScreen})
	if err != nil {
		t.Fatal(err)
	}
	screenBackup, err := pub.PublishTrack(TrackParams{ID: "SB", Kind: webrtc.RTPCodecTypeVideo, Codec: video(webrtc.MimeTypeVP8),
		Layers: []string{"s", "l"}, Upstream: &wantRecorder{}, BackupFor: "S", Source: SourceScreen})
	if err != nil {
		t.Fatal(err)
	}
	sorted := func(ids []string) []string { slices.Sort(ids); return ids }
	if got := sorted(received(all.p)); !slices.Equal(got, []string{"P", "S"}) {
		t.Errorf("the subscriber that decodes everything receives %v, want [P S]", got)
	}
	if got := sorted(received(vp8.p)); !slices.Equal(got, []string{"B", "SB"}) {
		t.Errorf("the VP8-only subscriber receives %v, want [B SB]", got)
	}
	vp8.p.sub.mu.Lock()
	d, ds := vp8.p.sub.downs[backup], vp8.p.sub.downs[screenBackup]
	vp8.p.sub.mu.Unlock()
	if d == nil || d.ID() != "P" || ds == nil || ds.ID() != "S" {
		t.Errorf("the backups are not presented under their primaries' IDs")
	}
	for _, pr := range []*peer{all, vp8} {
		pr.mu.Lock()
		for _, e := range pr.events {
			if tp, ok := e.(TrackPublished); ok && (tp.Track.ID == "B" || tp.Track.ID == "SB") {
				t.Errorf("%s was told of the backup track %s", pr.p.ID(), tp.Track.ID)
			}
		}
		pr.mu.Unlock()
	}
	if screen.source != SourceScreen || screenBackup.source != SourceScreen {
		t.Errorf("sources %q %q, want screen", screen.source, screenBackup.source)
	}
	// The VP8 subscriber leaves: nobody receives the backup, which is
	// paused (all its layers unwanted) while the primary goes on.
	vp8.p.Close()
	waitFor(t, "the backup paused", func() bool {
		w := backupUp.last()
		return len(w) == 2 && !w[0] && !w[1]
	})
}
