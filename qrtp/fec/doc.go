// Package fec is QRTP's forward error correction: Reed-Solomon groups over
// variable-size byte symbols (github.com/klauspost/reedsolomon), the
// redundancy policy that decides how much to send, and the loss estimator
// that feeds it.
//
// It knows byte symbols, group ids and time. It must not know frames,
// packet numbers, streams or sockets: the connection core decides which
// payloads to protect and how SourceIDs and Repairs travel on the wire.
//
// # Groups
//
// The Encoder collects K source payloads into a group. Each source symbol is
// the payload preceded by its 16-bit length, zero-padded to the group's
// largest (symbol size S = 2 + largest payload), so a recovered packet comes
// back at its exact size. When the group is sealed (full, flushed by the
// caller at the end of a message, or open longer than Params.MaxDelay) the
// encoder computes M repair symbols of S bytes. Any K of the K+M symbols
// rebuild the group. A group flushed early with k' < K sources gets
// Params.Short[k'] repairs and announces its own k' in its repairs, which
// carry (group, index, k, m); sources carry only (group, index).
//
// The Decoder keeps one entry per group that has an unresolved symbol,
// bounded in count (oldest evicted), age and symbol size, and remembers
// recently finished groups in a ring so late symbols cannot reopen them.
//
// # Redundancy policy
//
// Loss is modelled as a simple Gilbert chain fitted to the measured mean
// loss L and mean loss-run length B: r = 1/B, q = L·r/(1−L) (independent
// loss is B = 1/(1−L), where the chain forgets its state every packet). A
// group of K sources and M repairs fails when more than M of its K+M symbols
// are lost. Its probability is computed exactly for the chain by dynamic
// programming over (packet, losses so far, state):
//
//	P_0(s, j)   = π_s·[j = loss(s)]                 π_bad = q/(q+r)
//	P_i(s', j') = Σ_s P_{i−1}(s, j)·T^d(s, s'), j' = j + [s' = bad]
//	P_fail(K, M) = Σ_{j>M} Σ_s P_{K+M}(s, j)
//
// where sources are d packets apart (d = interleaving depth; T^d has the
// closed form π + λ^d(I−π), λ = 1−q−r) and repairs, sent when the group
// seals, follow back to back (d = 1). For independent loss this is the
// binomial tail: at 20% loss, K=10 and M=5, P(Bin(15, 0.2) > 5) = 6.1%;
// M=8 brings it to 0.43%.
//
// A deadline message should not wait a round trip for a retransmission.
// The deadline D leaves R retransmission rounds, the first needing
// 1.5·RTT + margin (one-way trip, loss detection about an RTT after
// sending, resend), each further one RTT + margin. The message fails only if
// FEC fails and the retransmission rounds fail for the packets FEC left
// missing; taking two such packets, each lost again with the mean loss in
// every round (retransmissions come an RTT later, past a typical burst):
//
//	P_msg = P_fail(K, M) · F_R,   F_0 = 1,   F_R = 1 − (1 − L^R)²
//
// The policy requires P_msg ≤ Target (0.5%): with no round FEC alone must
// reach it; with one round at 20% loss F_1 = 0.36, so FEC may fail 2.8×
// more often and needs fewer repairs. If retransmission alone suffices,
// 1 − (1 − L^{R+1})^{MessagePackets} ≤ Target, no FEC is sent; likewise
// below CleanLoss (zero overhead on a clean link), without a deadline, or
// when the deadline does not even cover the one-way delay.
//
// When the caller flushes at the end of every message and says how many
// packets a message takes (Conditions.MessagePackets), groups are at least
// that long per interleaving lane: the whole message is queued at once, so
// its packets fill a group at the pacing rate whatever the mean rate, and
// a message split into a full group and a short remainder pays for both.
//
// Among the (K, M, d) that meet the target within the overhead budget
// (M/K ≤ Budget) it takes the least overhead, but prefers a smaller group
// unless a larger one saves more than 10% (smaller groups recover sooner and
// lose less to a flush). K is bounded by what fills within the group delay
// at the stream's packet rate, and interleaving (d = 2, 4) is tried only
// when that rate is known, since a group then spans K·d packets; against
// bursts it spreads a run of losses over several groups, and smaller groups
// keep the repairs close to the sources they protect. When no choice meets
// the target within budget it spends the whole budget on the choice that
// fails least, and reports the predicted failure in Params.Residual. The
// Short table is computed the same way for every k' < K, capped at M.
//
// Worked figures (Target 0.5%, no retransmission round, no rate bound):
// 5% loss → K=25, M=5 (20%); 20% → K=28, M=16 (57%); 50% → K=18, M=36
// (200%), and a 50% budget cannot meet it (best effort: K=2, M=1); 20% in
// bursts of 4 → K=26, M=33 (127%), less with interleaving when the packet
// rate allows it. At 160 packets/s (1.5 Mbit/s) a 40 ms group holds at most
// 6 packets, which makes FEC dearer: short groups are the price of latency.
//
// # Estimator
//
// Estimator fits the same chain to the packets' fates: exponentially
// decayed counts of (previous fate, fate) transitions give q and r, hence
// the loss rate and the mean burst 1/r the policy takes.
package fec
