// qrtn-candidates.js: which candidates a PeerConnection's media flows on,
// for stats().candidates (architecture.md, "Contracts"). Imported by qrtn.js.

/**
 * The selected candidate pair's local candidate: {type, relayProtocol}, where
 * type is 'host', 'srflx', 'prflx' or 'relay' and relayProtocol is how a relay
 * candidate reaches its TURN server ('udp', 'tcp', 'tls'), or null.
 */
export function selectedLocalCandidate(report) {
  let pairId = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId && report.get(pairId);
  const local = pair && report.get(pair.localCandidateId);
  if (!local) return { type: null, relayProtocol: null };
  return { type: local.candidateType ?? null, relayProtocol: local.relayProtocol ?? null };
}
