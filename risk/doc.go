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
// # Suspicion × impact
//
// Every decision weighs two things apart. Suspicion is how likely the
// session is no longer its rightful owner's: evidence combined as log-odds
// in decibels (10·log10 of a likelihood ratio; +10 multiplies the odds by
// ten) added to a prior (Policy.Suspicion: -30 dB for a client the engine
// knows well, up to -26 dB for one never observed). Within one kind of
// evidence (network, scope, tenant, volume, sequence, time, delegation,
// signal, holder) the strongest detector counts fully and the others by
// Suspicion.Overlap; different kinds add up. Each detector may speak
// strongly when its evidence is strong (rates, volumes and fan-out grow
// with every doubling beyond the usual); declared registration data counts
// as near-certain evidence (a call outside the declared networks, 25-30 dB;
// outside the declared schedule, 25 dB); hard facts are certain. Decision.Score
// is the suspicion in percent.
//
// Impact is what the call can do, 0..1 (Policy.Impact): its resource's tier
// (1%, 3%, 10%, 30% by default), times its declared tactic
// (credential_access, persistence, defense_evasion, exfiltration ×2,
// impact ×3), times the strongest verb class its tool and scopes name
// (write ×1.5, export ×2, delete ×3, cost ×5, admin ×2), times its volume
// when the session reaches far more calls or tenants than usual. A call
// that sends data out (an exfiltration channel, or a tool or scope that
// uploads, shares, sends or publishes) after the session read sensitive data
// is weighed at least at that data leaving.
//
// The level comes from the expected loss, suspicion × impact, against the
// policy's Loss bands scaled by its Tolerance (low 0.005, medium 0.01, high
// 0.1): routine calls tolerate much, a secret read little. Thresholds raise
// the level by suspicion alone; only certainty (a hard fact) is critical by
// default. The action is the cheapest that keeps the expected loss under
// tolerance: allow (a shorter lifetime at low), step up at medium and high
// (a revalidation with the client's own key stops a thief holding a token
// or a secret), and for a resource server asking about a token that the
// network and holder evidence alone say is being used from elsewhere, an
// inactive answer. Every decision lists its reasons with their
// contribution in decibels, the prior among them, and ReasonImpact: the
// impact and what set it.
//
// # Evidence
//
// Facts are deterministic findings that stick for the session's life (the
// Fact* codes); hard facts (refresh reuse, assertion replay, proof-of-
// possession mismatch, compromise, upstream session revocation) make the
// session certain and send it to the critical level. A resource server
// introspecting a token not meant for it is evidence about who holds the
// token (15 dB, fading), not a fact. Behaviour detectors add evidence that
// fades with Policy.HalfLife, each capped per session (decibels):
//
//	net.session_origin_change  30 outside declared networks, 20 another /16, 8 another /24, 2 a known network
//	net.new_network            25 outside declared networks, 25 an address space (internal or public) the client never used, 20 an unknown /16 (less for a client that roams), 6 an unknown /24, 1 inside declared networks; standing while the session is still used from there; a known /24 (or, for a /24 never used, the declared network holding it, else its /16) used above the tier it vouched for, declared or not: up to 20, one over the chance that its n clean sessions all stayed below a tier the client's sessions reach with share f, (1-f)^n
//	net.parallel_use           20 two /16s within 2 minutes, 8 two /24s, 2 both inside declared networks
//	scope.novel_resource       audience never used up to 6/12/20/20 by tier (Good-Turing, below), plus 6/10 at tier 3/4 when reached with tools the client never used, scope 0.5/1.5/4/6 (×1.2 write, ×1.5 delete, export, cost, admin); a call above routine data that deletes, exports, spends or administers in a class the client's clean sessions never used there, 10·log10(n+2) over the n sessions it had to show one (Laplace), up to 15/20/20 at tier 2/3/4, once per class and session
//	scope.tier_jump            5 per tier above the session's and client's usual maximum
//	tenant.novel               up to 12 per tenant never served (Good-Turing; none for an audience's declared tenant, which is not served either), plus at tier 3/4 up to 6/10 by how rarely the client's sessions reach the tier (-10·log10 of (sessions reaching it + 1)/(sessions + 2)); up to 40, one over the Poisson tail, for the tenants the client met for the first time in the last hours or days against its rate of meeting new ones, on every call to one of them
//	vol.fanout                 4 at max(2×usual, usual+3) distinct tenants or audiences, +10 per doubling
//	vol.rate_spike             4 at max(3×usual peak, 10) calls a minute, +10 per doubling
//	vol.session_volume         4 at max(3×usual, usual+20) calls in the session, +10 per doubling; per tool 4 at max(1.5×usual, usual+3, 4) calls (1 for a never-used tool that deletes, exports, spends or administers by its name, 2 by its scope only), +20 per doubling; a tool that deletes, exports, spends or administers also log2(calls/usual)·10·log10(m+1) (m sessions that used it) or the Poisson tail, whichever is stronger; the usual is learned apart at the turn of a month (its last three days and the next's first twelve hours, in the declared schedule's zone, else UTC): a month-end peak lifts the usual there only, and other days keep theirs
//	seq.rare_transition        tool never used up to 3/6/10/10 by tier (Good-Turing, verb-weighted, a third on a new audience); an unseen step between known tools up to half that (Good-Turing over the client's steps, at most 10·log10((n+2)/2) for a tool it left in n sessions), none from or to a tool still being learned
//	seq.multi_tactic           5 per tactic class beyond the first when one is new (a third when the new one was reached only through a routine-tier audience never used), 10 a new class after a challenge, 20 data sent out after sensitive data when clean sessions never combine the two, or, for a client whose sessions do, a sensitive audience's data sent through a channel its clean sessions never sent it through (20 less the Good-Turing share of its flows that are new)
//	time.off_schedule          25 outside the declared schedule (3 within 30 minutes), 4 an hour the client never starts at, 3 a weekday it never runs on
//	deleg.unusual_chain        8 per level beyond the usual depth; the pair: 4 an actor never acting for this client, and once a session up to 12 more (Good-Turing over the client's actors) plus 6/10 at tier 3/4 as for an audience (×1.2 write, ×1.5 delete, export, cost, admin), above the highest tier the actor itself reached for this client, up to 20 as for a network; the actor: 3 with no history, 5 per tier above its own
//	subj.external_signal       3/20/30 for an upstream risk level low/medium/high (does not fade)
//	rs.unexpected_introspector 15 a resource server outside the token's audiences held it
//
// Novelty is weighed by the Good-Turing estimate of how often the client
// meets new values, (values seen about once + 1) / (sightings + 2), against
// an even chance: a client with a few values seen many times speaks
// strongly of a new one, one that keeps meeting new values weakly.
//
// Learned evidence is scaled by the client's maturity (the time it has been
// observed and its clean calls, Suspicion.MatureAfter and MatureCalls): a
// client not yet mature keeps a floor that grows with the tier, so a first
// secret read still counts while a first routine read hardly does. Its
// first clean sessions have nothing to be novel against. A request the
// handlers refuse as beyond its grant counts as its fact alone: it reached
// nothing, so it adds no novelty for what it asked for and is refused
// rather than challenged. Each challenge raises a floor under the
// suspicion, a failed one more, and an unanswered challenge stands: calls
// beyond routine reads are asked again until it is answered. The call a
// challenge refused is not counted: the client repeats it once it has
// answered, and the repeat is the same call, not a second one. A challenge
// a resource server's introspection opens is owed only once one of the
// client's own calls meets it: until then it does not count as unanswered,
// and a session that ends with only such a challenge pending is learned
// as if it had not been issued (by its peak). A passed challenge covers
// later calls of no greater impact, the session's volume aside, up to
// Challenge.VerifiedMargin decibels more suspicion: a session working on
// at the volume it proved is not asked at every call, one that goes well
// beyond it is asked again. The client's
// recent sessions leave a floor too, and so does the session's own risky
// peak, fading with the memory half-life rather than the behaviour one.
// The novelty the client's sessions show and the calls they make also
// accumulate per client over hours and days (Policy.Memory.Window, Slow):
// beyond an allowance, that is evidence in every new session
// (hist.accumulated), so splitting work or spreading it thinly adds up.
//
// # Baselines
//
// Each client's [Baseline] is learned online from its clean sessions only
// (no fact, no challenge, a low peak, nothing accumulated; or every
// challenge the client met passed with its key, no fact, no failure): bounded sets of
// hashed networks, audiences, scopes, tenants, tools, tool transitions,
// actors and flows (a sensitive audience read, then a channel sent
// through) with decayed counts, each remembering the highest tier it vouched
// for (a network learned from routine work does not make sensitive work
// there normal) and when it was first used (a value learned only lately
// vouches for sensitive work in part), a 168-bucket hour-of-week histogram, the sessions
// that used each verb class above routine data, and per-session call, tenant and rate
// figures (the most calls a session and of each tool kept apart for the
// turn of a month, so periodic peaks lift only its own limit). It stays
// under 8 KiB.
//
// # Live sessions
//
// Between events a session is kept encoded (a few hundred bytes, no
// pointer the garbage collector scans) and decoded only while an event is
// judged; a live session costs at most 512 bytes of heap. Sessions idle past
// Baseline.IdleEnd are ended (learning from the clean ones) and then evicted
// by Sweep; a server loads a session's durable facts back with
// [Engine.Rehydrate] on its next event, and after a restart on its first.
package risk
