// app-prejoin.js: the demo page's pre-join screen: a camera preview, the
// camera and microphone to use, the name and room, and, for an interactive
// live room only, whether to join as a host or a viewer. Imported by app.js.

import { ICONS, initials } from './app-ui.js';

const $ = (sel) => document.querySelector(sel);

/**
 * Shows the pre-join screen filled from v ({room, name, mode, role, codec,
 * token}) and resolves with the choices when the user joins:
 * {room, name, mode, role, codec, token, camera, microphone, audioOff, videoOff}.
 */
export function prejoin(v) {
  const f = $('#join');
  f.room.value = v.room || 'demo';
  f.name.value = v.name || localStorage.getItem('qrtn-name') || '';
  f.mode.value = v.mode;
  f.role.value = v.mode === 'live' ? v.role : 'host';
  f.codec.value = v.codec;
  f.token.value = v.token;
  $('#prejoin').hidden = false;
  const state = { audioOff: false, videoOff: false, stream: null };
  const syncRole = () => {
    const live = f.mode.value === 'live';
    $('#role-field').hidden = !live; // a meeting has no roles: everyone talks
    const viewer = live && f.role.value === 'viewer';
    document.body.classList.toggle('prejoin-viewer', viewer);
    if (viewer) stopPreview(state);
    else if (!state.stream) startPreview(state, f).catch(() => {});
  };
  f.mode.onchange = syncRole;
  f.role.onchange = syncRole;
  f.camera.onchange = () => startPreview(state, f).catch(() => {});
  f.microphone.onchange = () => startPreview(state, f).catch(() => {});
  f.name.oninput = () => ($('#preview-off .avatar').textContent = initials(f.name.value));
  const toggles = () => {
    $('#pre-mic').innerHTML = state.audioOff ? ICONS.micOff : ICONS.mic;
    $('#pre-cam').innerHTML = state.videoOff ? ICONS.camOff : ICONS.cam;
    $('#pre-mic').setAttribute('aria-pressed', String(!state.audioOff));
    $('#pre-cam').setAttribute('aria-pressed', String(!state.videoOff));
    $('#preview-off').hidden = !state.videoOff && !!state.stream;
    $('#preview-off .avatar').textContent = initials(f.name.value);
  };
  $('#pre-mic').onclick = () => {
    state.audioOff = !state.audioOff;
    toggles();
  };
  $('#pre-cam').onclick = () => {
    state.videoOff = !state.videoOff;
    toggles();
  };
  toggles();
  syncRole();
  return new Promise((resolve) => {
    f.onsubmit = (e) => {
      e.preventDefault();
      localStorage.setItem('qrtn-name', f.name.value);
      stopPreview(state);
      $('#prejoin').hidden = true;
      resolve({
        room: f.room.value.trim(), name: f.name.value.trim(), mode: f.mode.value,
        role: f.mode.value === 'live' ? f.role.value : 'host', codec: f.codec.value, token: f.token.value.trim(),
        camera: f.camera.value, microphone: f.microphone.value, audioOff: state.audioOff, videoOff: state.videoOff,
      });
    };
  });
}

async function startPreview(state, f) {
  stopPreview(state);
  const video = f.camera.value ? { deviceId: { exact: f.camera.value } } : true;
  const audio = f.microphone.value ? { deviceId: { exact: f.microphone.value } } : true;
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video, audio });
  } catch (e) {
    $('#preview-off').hidden = false;
    throw e;
  }
  $('#preview').srcObject = state.stream;
  $('#preview-off').hidden = !state.videoOff;
  await fillDevices(f);
}

function stopPreview(state) {
  if (state.stream) for (const t of state.stream.getTracks()) t.stop();
  state.stream = null;
  $('#preview').srcObject = null;
}

// fillDevices lists cameras and microphones (labels are known once the
// page may use them).
async function fillDevices(f) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, sel] of [['videoinput', f.camera], ['audioinput', f.microphone]]) {
    const keep = sel.value;
    sel.textContent = '';
    for (const d of devices.filter((x) => x.kind === kind)) {
      const o = document.createElement('option');
      o.value = d.deviceId;
      o.textContent = d.label || `${kind === 'videoinput' ? 'camera' : 'microphone'} ${sel.length + 1}`;
      sel.append(o);
    }
    if (keep) sel.value = keep;
  }
}
