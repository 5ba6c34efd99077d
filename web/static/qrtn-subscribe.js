// qrtn-subscribe.js: selective subscription and backup codecs for qrtn.js
// (signaling/PROTOCOL.md, "Selective subscription" and "Backup codecs").
// Imported by qrtn.js; not an API of its own.
//
// Options of join() read here:
//   autoSubscribe: false   receive nothing until session.subscribe(id)
//   receiveCodecs: ['vp8'] decode only these video codecs (a test's stand-in
//                          for a browser without AV1 or VP9): the node is told,
//                          and the subscriber connection refuses the others
//   declareCodecs: false   do not tell the node what this client decodes (as
//                          a client other than qrtn.js): the node reads it
//                          from the subscriber connection's answers
//   backup: false|'vp8'    a camera or screen share published in VP9, AV1 or
//                          H.264 (simulcast or SVC) is also sent in VP8 (the
//                          default), as VP8 simulcast, so that every
//                          subscriber can decode one of the two; false sends
//                          only the primary

/** Codecs the node may pick a backup in; only VP8 is offered today. */
const BACKUP_DEFAULT = 'vp8';
const NEEDS_BACKUP = ['vp9', 'av1', 'h264'];

/** The video codecs (lower-case MIME subtypes) this client decodes. */
export function receiveCodecs(opts) {
  const caps = (typeof RTCRtpReceiver !== 'undefined' && RTCRtpReceiver.getCapabilities?.('video')) || { codecs: [] };
  let names = [...new Set(caps.codecs.map((c) => c.mimeType.split('/')[1].toLowerCase()))];
  names = names.filter((n) => !['rtx', 'red', 'ulpfec', 'flexfec-03'].includes(n));
  if (opts.receiveCodecs) {
    const allowed = opts.receiveCodecs.map((c) => c.toLowerCase());
    names = names.filter((n) => allowed.includes(n));
  }
  return names;
}

/**
 * The join message's fields for subscription: auto_subscribe, and codecs,
 * the video codecs this browser decodes (so that a browser without AV1
 * gets an AV1 camera's backup), when the browser can tell.
 */
export function joinFields(opts) {
  const m = {};
  if (opts.autoSubscribe === false) m.auto_subscribe = false;
  const codecs = receiveCodecs(opts);
  if (opts.declareCodecs !== false && (codecs.length || opts.receiveCodecs)) m.codecs = codecs;
  return m;
}

/**
 * Restricts the subscriber connection's video transceivers to the codecs
 * of opts.receiveCodecs before an answer, as a browser that cannot decode
 * the others would answer. Without receiveCodecs it does nothing.
 */
export function restrictReceive(pc, opts) {
  if (!opts.receiveCodecs || !RTCRtpReceiver.getCapabilities) return;
  const allowed = new Set([...receiveCodecs(opts), 'rtx', 'red', 'ulpfec', 'flexfec-03']);
  const codecs = RTCRtpReceiver.getCapabilities('video').codecs.filter((c) => allowed.has(c.mimeType.split('/')[1].toLowerCase()));
  for (const tr of pc.getTransceivers()) {
    if (tr.receiver.track?.kind !== 'video' || tr.currentDirection === 'stopped') continue;
    try {
      tr.setCodecPreferences(codecs);
    } catch (e) {
      console.warn('qrtn: receive codecs', e);
    }
  }
}

/** The backup codec for a published entry, or null. */
function backupCodec(session, p) {
  const primary = (session.opts.codec || 'vp8').toLowerCase();
  if (p.kind !== 'video' || session.opts.backup === false || !NEEDS_BACKUP.includes(primary)) return null;
  const b = (typeof session.opts.backup === 'string' ? session.opts.backup : BACKUP_DEFAULT).toLowerCase();
  return b === primary ? null : b;
}

/**
 * Adds the backup transceiver of a camera or screen share (same track, the
 * backup codec first) to the publisher connection; p.backup is set to it.
 * It has the primary's simulcast encodings, or, for a primary sent as one
 * SVC stream, the camera's simulcast ones: the backup codec (VP8) has no
 * spatial layers of its own. qrtn.js calls it from _addSender.
 */
export function addBackup(session, p, init, prefer) {
  const codec = backupCodec(session, p);
  if (!codec) return;
  const simulcast = init.sendEncodings?.length > 1 && init.sendEncodings.every((e) => e.rid);
  const sendEncodings = simulcast ? init.sendEncodings.map((e) => ({ ...e })) : session._encodings();
  const tr = session._pub.addTransceiver(p.track, { ...init, sendEncodings });
  prefer(tr, 'video', codec);
  p.backup = tr;
}

/** The offer's extra fields: the backups' sources and backups (mid → primary mid). */
export function offerFields(published) {
  const sources = {};
  const backups = {};
  for (const p of published) {
    if (p.backup?.mid && p.transceiver?.mid && p.backup.currentDirection !== 'stopped') {
      sources[p.backup.mid] = p.source;
      backups[p.backup.mid] = p.transceiver.mid;
    }
  }
  return Object.keys(backups).length ? { sources, backups } : null;
}

/** A subscribe message, checked. */
export function subscribeMessage(participant, on, track) {
  if (!participant) throw new Error('qrtn: subscribe needs a participant id');
  const m = { type: 'subscribe', participant, subscribe: on !== false };
  if (track) m.track = track;
  return m;
}

/**
 * Subscribes to the participants named (by id or display name, any case)
 * now and as they join; the demo page's &subscribe=Ann,Bob.
 */
export function subscribeByName(session, names) {
  const want = new Set(names.map((n) => n.toLowerCase()));
  const check = (p) => {
    if (p && (want.has(p.id.toLowerCase()) || want.has((p.name || '').toLowerCase()))) session.subscribe(p.id);
  };
  for (const p of session.participants.values()) check(p);
  session.on('participant_joined', (e) => check(e.participant));
}
