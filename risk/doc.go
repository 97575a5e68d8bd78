// Package risk scores the risk of every session Vigil issues tokens for and
// turns it into an action: allow (possibly with a shortened lifetime), step
// up, deny or terminate.
//
// The request handlers describe each call they verified as an [Event] and
// call [Engine.Observe], which updates the session's and the client's
// in-memory state and returns a [Decision] that explains itself with
// reasons. The package does no I/O, reads time only from events (or an
// injected clock), and imports nothing outside the standard library: admin
// rules are compiled in CEL by risk/rules and reach the engine through the
// small [Rules] interface.
//
// # Evidence
//
// Facts are deterministic findings that stick for the session's life (the
// Fact* codes); hard facts (refresh reuse, assertion replay, proof-of-
// possession mismatch, compromise, upstream session revocation) send the
// session straight to the critical level. Behaviour detectors add points
// that fade with Policy.HalfLife, each capped per session:
//
//	net.session_origin_change  45 outside declared networks, 35 another /16, 15 another /24, 4 a known network
//	net.new_network            15 outside declared networks, 20 an unknown /16, 8 an unknown /24, 3 a new /24 inside declared networks
//	net.parallel_use           30 two /16s within 2 minutes, 10 two /24s, 5 both inside declared networks
//	scope.novel_resource       audience never used 2/5/10/20 by tier, scope 1/4/8/15
//	scope.tier_jump            8 per tier above the session's and client's usual maximum
//	tenant.novel               5 per tenant never served (none for an audience's declared tenant)
//	vol.fanout                 3 per distinct tenant or audience beyond max(2×usual, usual+3)
//	vol.rate_spike             6 per multiple of max(3×usual peak, 10) calls a minute
//	seq.rare_transition        tool never used 3/5/8/12 by tier, half for an unseen step between known tools
//	seq.multi_tactic           8 per tactic class beyond the first when one is new for the client, 10 for a new class after a challenge
//	time.off_schedule          30 outside the declared schedule (8 within 30 minutes), 10 an hour the client never starts at, 6 a weekday it never runs on
//	deleg.unusual_chain        10 per delegation level beyond the usual depth, 3 an actor never seen
//	subj.external_signal       5/25/50 for an upstream risk level low/medium/high (does not fade)
//
// Learned detectors are scaled down while a client has few clean sessions
// (its learning mode), and declared registration data always outranks what
// was learned. Evidence of several kinds agreeing adds a bonus. A request
// the handlers refuse as beyond its grant counts as its fact alone: it
// reached nothing, so it adds no novelty for what it asked for and is
// refused rather than challenged. Each challenge raises a floor under the
// score, a failed one more, and an unanswered challenge stands: calls at its
// tier or above are asked again until it is answered. The client's recent
// sessions leave a floor too, and so does the session's own risky peak,
// fading with the memory half-life rather than the behaviour one: neither
// splitting work into many short sessions nor waiting inside one launders
// risk.
//
// A call is judged at its resource's tier, except that a first call to an
// exfiltration channel the client never uses, after the session reached
// sensitive data, is judged at the sensitive tier.
//
// # Baselines
//
// Each client's [Baseline] is learned online from its clean sessions only
// (no fact, no challenge, a low peak): bounded sets of hashed networks,
// audiences, scopes, tenants, tools and tool transitions with decayed counts,
// a 168-bucket hour-of-week histogram, and running call-rate and fan-out
// figures. It stays under 8 KiB; a live session stays under 2 KiB.
package risk
