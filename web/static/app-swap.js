// app-swap.js: make before break for a tile's video. When a remote
// participant's video comes on a new track while the tile still shows a
// live one (the session moved to another node, or the node replaced the
// track), the tile keeps showing the old track until the new one has
// presented its first frame in a second <video>, stacked invisibly over
// the first; that element then takes the first one's place, so no frame is
// missing between them. Imported by app-ui.js; knows nothing of sessions.
//
// The swap also happens when the old video track ends or leaves the tile
// first, or STAGE_MAX after the new track came (a track that never shows a
// frame must not keep the old picture forever).

const STAGE_MAX = 3000; // ms

// needsStage: a video track for a tile that shows another video track
// with a picture (live, and not muted for want of packets).
export function needsStage(tile, track) {
  return !tile.local && track.kind === 'video' && tile.stream.getVideoTracks().some((t) => t !== track && t.readyState === 'live' && !t.muted);
}

// stage starts showing track in a hidden element of tile; the tile swaps
// to it on its first frame.
export function stage(tile, track) {
  if (tile.staged) swap(tile, 'replaced'); // a newer track: the one staged goes in first
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true; // the audio still plays from the shown element
  // Invisible, but rendered: a hidden (visibility) element shows no frame.
  video.style.cssText = 'position:absolute;inset:0;opacity:0;visibility:visible;pointer-events:none';
  const stream = new MediaStream([track, ...tile.stream.getAudioTracks().filter((t) => t.readyState === 'live')]);
  video.srcObject = stream;
  const st = { video, stream, timer: setTimeout(() => swap(tile, 'timeout'), STAGE_MAX) };
  tile.staged = st;
  tile.video.after(video);
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => tile.staged === st && swap(tile, 'frame'));
  video.play().catch(() => {});
}

// swap makes the staged element the tile's video (why: 'frame', 'ended',
// 'timeout', 'replaced'; kept in the tile's data-swap for tests).
export function swap(tile, why) {
  const st = tile.staged;
  if (!st) return;
  tile.staged = null;
  clearTimeout(st.timer);
  const old = tile.video;
  for (const t of tile.stream.getAudioTracks()) if (!st.stream.getTracks().includes(t)) st.stream.addTrack(t);
  st.video.style.cssText = '';
  st.video.muted = old.muted;
  tile.video = st.video;
  tile.stream = st.stream;
  old.srcObject = null;
  old.remove();
  tile.el.dataset.swap = why;
  tile.update();
  st.video.play().catch(() => {});
}

// stagedTrackGone: a track left the tile (or ended); when it was the
// video shown while another waits, the waiting one goes in at once.
export function stagedTrackGone(tile, track) {
  const st = tile.staged;
  if (!st) return;
  st.stream.removeTrack(track);
  if (track.kind === 'video' && !tile.stream.getVideoTracks().some((t) => t !== track && t.readyState === 'live')) swap(tile, 'ended');
}
