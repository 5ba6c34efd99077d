// qrtn-stats.js: the parts of getStats() that qrtn.js reports for the
// publisher connection. Imported by qrtn.js; not an API of its own.

/** One entry per outbound-rtp stream (one per simulcast layer), sorted by kind and rid. */
export function outboundStats(report) {
  const list = [];
  report.forEach((s) => {
    if (s.type !== 'outbound-rtp') return;
    list.push({
      kind: s.kind,
      rid: s.rid ?? null,
      codec: report.get(s.codecId)?.mimeType ?? null,
      active: s.active ?? true,
      bytesSent: s.bytesSent ?? 0,
      packetsSent: s.packetsSent ?? 0,
      framesEncoded: s.framesEncoded ?? 0,
      framesPerSecond: s.framesPerSecond ?? 0,
      frameWidth: s.frameWidth ?? 0,
      frameHeight: s.frameHeight ?? 0,
      qualityLimitationReason: s.qualityLimitationReason ?? null,
    });
  });
  list.sort((a, b) => (a.kind + (a.rid ?? '')).localeCompare(b.kind + (b.rid ?? '')));
  return list;
}

/** The current RTT in ms of the transport's selected candidate pair, or null. */
export function selectedRTT(report) {
  let pairId = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId && report.get(pairId);
  if (!pair || pair.currentRoundTripTime === undefined) return null;
  return Math.round(pair.currentRoundTripTime * 1000);
}
