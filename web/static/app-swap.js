// app-swap.js: make before break for a tile's video. When a remote
// participant's video comes on a new track while the tile still shows a
// live one (the session moved to another node, or the node replaced the
// track), the tile keeps showing the old track until the new one has
// presented its first frame in a second <video>, stacked invisibly over
// the first; that element then takes the first one's place, so no frame is
// missing between them. Imported by app-ui.js; knows nothing of sessions.
//
// The swap also happens when the old video track ends or leaves the tile
// before the new one showed a frame (there is nothing left to keep). A
// new track that goes before it showed anything is dropped.
//
// Tracks of a participant keep their ids across nodes, and a MediaStream
// takes no second track of an id it has: put() replaces the old one.

// needsStage: a video track for a tile that shows another video track
// with a picture (live, and not muted for want of packets).
export function needsStage(tile, track) {
  return !tile.local && track.kind === 'video' && tile.stream.getVideoTracks().some((t) => t !== track && t.readyState === 'live' && !t.muted);
}

// put adds track to stream in place of a track of the same id.
export function put(stream, track) {
  for (const t of stream.getTracks()) if (t !== track && t.id === track.id) stream.removeTrack(t);
  if (!stream.getTracks().includes(track)) stream.addTrack(track);
}

// stage starts showing track in an invisible element of tile; the tile
// swaps to it on its first frame.
export function stage(tile, track) {
  if (tile.staged) drop(tile); // a newer track: the one staged never showed a frame
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true; // the audio still plays from the shown element
  // Invisible, but rendered: a hidden (visibility) element shows no frame.
  video.style.cssText = 'position:absolute;inset:0;opacity:0;visibility:visible;pointer-events:none';
  const stream = new MediaStream([track, ...tile.stream.getAudioTracks().filter((t) => t.readyState === 'live')]);
  video.srcObject = stream;
  const st = { video, stream, track };
  note(tile, 'stage', track);
  tile.staged = st;
  tile.video.after(video);
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => tile.staged === st && swap(tile, 'frame'));
  else video.addEventListener('loadeddata', () => tile.staged === st && swap(tile, 'frame'), { once: true });
  video.play().catch(() => {});
}

// swap makes the staged element the tile's video (why: 'frame' or
// 'ended'; kept in the tile's data-swap for tests).
function swap(tile, why) {
  const st = tile.staged;
  if (!st) return;
  tile.staged = null;
  const old = tile.video;
  for (const t of tile.stream.getAudioTracks()) if (!st.stream.getTrackById(t.id)) st.stream.addTrack(t);
  st.video.style.cssText = '';
  st.video.muted = old.muted;
  tile.video = st.video;
  tile.stream = st.stream;
  old.srcObject = null;
  old.remove();
  tile.el.dataset.swap = why;
  note(tile, `swap (${why})`, st.track);
  tile.update();
  st.video.play().catch(() => {});
}

function drop(tile) {
  const st = tile.staged;
  tile.staged = null;
  st.video.srcObject = null;
  st.video.remove();
  note(tile, 'drop', st.track);
}

// stagedTrackGone: a track left the tile (or ended). The staged video
// itself: dropped; the video shown while another waits: the waiting one
// goes in at once.
export function stagedTrackGone(tile, track) {
  const st = tile.staged;
  if (!st) return;
  if (track === st.track) return drop(tile);
  st.stream.removeTrack(track);
  if (track.kind === 'video' && !tile.stream.getVideoTracks().some((t) => t !== track && t.readyState === 'live')) swap(tile, 'ended');
}

// note keeps the last swaps in window.__swaps ([epoch ms, participant,
// what, track id]) for tests to read.
function note(tile, what, track) {
  const log = (window.__swaps ||= []);
  log.push([Date.now(), tile.participant, what, track ? track.id.slice(0, 8) : '-']);
  if (log.length > 100) log.shift();
}
