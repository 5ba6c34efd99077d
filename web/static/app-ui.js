// app-ui.js: the demo page's pieces that only draw: inline SVG icons (no
// emoji font needed), video tiles with a name card when the camera is off,
// and the layout that makes tiles fill the stage. Imported by app.js.

import { needsStage, stage, stagedTrackGone, put } from './app-swap.js';

const svg = (body) => `<svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${body}</svg>`;

/** Inline SVG icons by name. */
export const ICONS = {
  mic: svg('<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/>'),
  micOff: svg('<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3M3 3l18 18"/>'),
  cam: svg('<rect x="3" y="6" width="13" height="12" rx="2"/><path d="M16 10l5-3v10l-5-3z"/>'),
  camOff: svg('<rect x="3" y="6" width="13" height="12" rx="2"/><path d="M16 10l5-3v10l-5-3zM3 3l18 18"/>'),
  screen: svg('<rect x="3" y="4" width="18" height="12" rx="2"/><path d="M8 20h8M12 16v4"/>'),
  hand: svg('<path d="M8 13V5a1.5 1.5 0 0 1 3 0v6M11 11V4a1.5 1.5 0 0 1 3 0v7M14 11V5a1.5 1.5 0 0 1 3 0v8M8 13l-1.5-2a1.5 1.5 0 0 0-2.5 1.7L7 18a5 5 0 0 0 4 2h2a5 5 0 0 0 5-5v-2"/>'),
  grid: svg('<rect x="3" y="3" width="8" height="8" rx="1"/><rect x="13" y="3" width="8" height="8" rx="1"/><rect x="3" y="13" width="8" height="8" rx="1"/><rect x="13" y="13" width="8" height="8" rx="1"/>'),
  speaker: svg('<rect x="3" y="3" width="18" height="12" rx="1"/><rect x="3" y="17" width="5" height="4" rx="1"/><rect x="10" y="17" width="5" height="4" rx="1"/><rect x="17" y="17" width="4" height="4" rx="1"/>'),
  people: svg('<circle cx="9" cy="8" r="3"/><path d="M3 20a6 6 0 0 1 12 0M16 5a3 3 0 0 1 0 6M18 14a5 5 0 0 1 3 6"/>'),
  chat: svg('<path d="M4 5h16v11H9l-5 4z"/>'),
  leave: svg('<path d="M10 17l-5-5 5-5M5 12h11M14 4h5v16h-5"/>'),
  close: svg('<path d="M6 6l12 12M18 6L6 18"/>'),
  route: svg('<circle cx="5" cy="18" r="2"/><circle cx="19" cy="6" r="2"/><path d="M7 18h6a4 4 0 0 0 0-8h-2a4 4 0 0 1 0-8h6"/>'),
};

/** Quality bars (1 to 3 lit) for 'poor', 'good', 'excellent'. */
export function qualityIcon(grade) {
  const lit = { poor: 1, good: 2, excellent: 3 }[grade] || 0;
  const color = { poor: '#f55', good: '#fc3', excellent: '#3c6' }[grade] || '#777';
  const bar = (i) => `<rect x="${3 + i * 7}" y="${15 - i * 5}" width="4" height="${5 + i * 5}" rx="1" fill="${i < lit ? color : '#555'}" stroke="none"/>`;
  return `<svg viewBox="0 0 24 22" width="16" height="14" aria-hidden="true">${bar(0)}${bar(1)}${bar(2)}</svg>`;
}

/** Initials for an avatar: up to two letters of a display name. */
export function initials(name) {
  const parts = String(name || '?').trim().split(/[\s._-]+/).filter(Boolean);
  return ((parts[0]?.[0] || '?') + (parts[1]?.[0] || '')).toUpperCase();
}

/** A stable hue from a name, for avatar colors. */
export function hue(name) {
  let h = 0;
  for (const c of String(name)) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

/**
 * One tile: a participant's camera or screen. It shows the video, or a
 * name card with an avatar when there is no video or the camera is off;
 * a name plate with the microphone state and the connection quality; and
 * a line of figures (path, resolution) for remote tiles.
 */
export class Tile {
  constructor({ id, participant, name, source, local, onClick }) {
    this.id = id;
    this.participant = participant;
    this.source = source;
    this.local = local;
    this.name = name;
    this.stream = new MediaStream();
    this.el = document.createElement('div');
    this.el.className = `tile ${source}`;
    this.el.dataset.participant = participant;
    this.el.dataset.tile = id;
    this.video = document.createElement('video');
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.muted = local; // never play our own microphone back
    this.video.srcObject = this.stream;
    this.card = document.createElement('div');
    this.card.className = 'card';
    const av = document.createElement('span');
    av.className = 'avatar';
    av.textContent = initials(name);
    av.style.background = `hsl(${hue(name)} 45% 38%)`;
    const nm = document.createElement('span');
    nm.className = 'card-name';
    nm.textContent = name;
    this.card.append(av, nm);
    this.plate = document.createElement('div');
    this.plate.className = 'plate';
    this.micIcon = document.createElement('span');
    this.micIcon.className = 'mic';
    this.label = document.createElement('span');
    this.label.className = 'label';
    this.label.textContent = source === 'screen' ? `${name} (screen)` : name;
    this.quality = document.createElement('span');
    this.quality.className = 'quality';
    this.quality.title = 'connection quality';
    this.plate.append(this.micIcon, this.label, this.quality);
    this.info = document.createElement('div');
    this.info.className = 'info';
    this.el.append(this.video, this.card, this.plate, this.info);
    this.el.onclick = () => onClick && onClick(this);
    this.setMuted('audio', false);
    this.setMuted('video', false);
    this.update();
  }

  addTrack(track) {
    track.addEventListener('mute', () => this.update());
    track.addEventListener('unmute', () => this.update());
    // A new video track while another shows: make before break (app-swap.js).
    if (needsStage(this, track)) return stage(this, track);
    if (this.staged && track.kind === 'audio') put(this.staged.stream, track);
    // A video track without a picture (ended: its connection is gone;
    // muted: no packets come) gives way.
    if (track.kind === 'video') for (const t of this.stream.getVideoTracks()) if (t.readyState === 'ended' || t.muted) this.stream.removeTrack(t);
    put(this.stream, track);
    this.update();
    this.video.play().catch(() => {
      // Autoplay with sound needs a user gesture in normal browsers.
      this.video.muted = true;
      this.video.play().catch(() => {});
      document.addEventListener('click', () => (this.video.muted = this.local), { once: true });
    });
  }

  removeTrack(track) {
    stagedTrackGone(this, track);
    this.stream.removeTrack(track);
    this.update();
  }

  setMuted(kind, muted) {
    this.el.classList.toggle(`muted-${kind}`, !!muted);
    if (kind === 'audio') {
      this.micIcon.innerHTML = muted ? ICONS.micOff : ICONS.mic;
      this.micIcon.title = muted ? 'microphone off' : 'microphone on';
    }
    this.update();
  }

  setQuality(grade) {
    this.grade = grade;
    this.quality.innerHTML = grade ? qualityIcon(grade) : '';
    this.quality.title = grade ? `connection: ${grade}` : '';
    this.el.dataset.quality = grade || '';
  }

  // update shows the card instead of a frozen or black frame: no video
  // track, the camera off (muted), or the track muted by the network.
  update() {
    const v = this.stream.getVideoTracks()[0];
    const off = !v || this.el.classList.contains('muted-video') || this.el.classList.contains('off') || (v.muted && !this.local);
    this.el.classList.toggle('video-off', off);
  }
}

/**
 * Lays tiles out to fill the stage: in the grid, the column count that
 * gives the largest 16:9 tiles; in speaker view, one main tile and a strip
 * of thumbnails. Returns the grid tiles' width (0 when the grid is not
 * laid out, e.g. hidden).
 */
export function layoutGrid(grid, count) {
  const W = grid.clientWidth;
  const H = grid.clientHeight;
  if (!count || !W || !H) return 0;
  const gap = 8;
  let best = { cols: 1, w: 0, h: 0 };
  for (let cols = 1; cols <= count; cols++) {
    const rows = Math.ceil(count / cols);
    let w = (W - gap * (cols - 1)) / cols;
    let h = (H - gap * (rows - 1)) / rows;
    if (w / h > 16 / 9) w = (h * 16) / 9;
    else h = (w * 9) / 16;
    if (w > best.w) best = { cols, w, h };
  }
  grid.style.setProperty('--tile-w', `${Math.floor(best.w)}px`);
  grid.style.setProperty('--tile-h', `${Math.floor(best.h)}px`);
  return best.w;
}
