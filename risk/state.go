package risk

import (
	"time"
)

// SessionState is an admin's view of one session: its standing score and
// every reason behind it.
type SessionState struct {
	ID               string    `json:"id"`
	ClientID         string    `json:"client_id"`
	Opened           time.Time `json:"opened"`
	LastSeen         time.Time `json:"last_seen"`
	Score            int       `json:"score"`
	Level            Level     `json:"level"`
	Peak             int       `json:"peak"`
	Reasons          []Reason  `json:"reasons"`
	Facts            []Reason  `json:"facts,omitempty"`
	Challenges       int       `json:"challenges"`
	Failed           int       `json:"failed"`
	Pending          bool      `json:"pending"`
	Terminated       bool      `json:"terminated"`
	Ended            bool      `json:"ended"`
	SensitiveTouched bool      `json:"sensitive_touched"`
}

// SessionState returns session sid's state as of its last event, and false
// if the engine holds no state for it.
func (e *Engine) SessionState(sid string) (SessionState, bool) {
	hd := e.hold(sid, "", false)
	if hd == nil {
		return SessionState{}, false
	}
	defer e.release(hd, false)
	s := &hd.s
	sc := e.score(s, &s.acc, s.last)
	st := SessionState{
		ID: s.id, ClientID: s.clientID, Opened: unixTime(s.opened), LastSeen: unixTime(s.last),
		Score: sc.score, Level: e.level(sc, s.maxImpact), Peak: int(s.peak), Reasons: sc.reasons,
		Challenges: int(s.challenges), Failed: int(s.failed), Pending: s.pending,
		Terminated: s.terminated, Ended: s.ended, SensitiveTouched: s.sensitive,
	}
	for _, f := range s.facts {
		st.Facts = append(st.Facts, Reason{Code: f.code, Points: int(f.points), Evidence: f.evidence})
	}
	return st, true
}

// Peek returns what session sid's standing would be at time at, for an
// exchange to a resource of the given tier (its base impact), without
// changing anything. Action is
// Terminate for a terminated session, else what the ladder would answer an
// exchange. It returns false if the engine holds no state for sid.
func (e *Engine) Peek(sid string, at time.Time, tier int) (Decision, bool) {
	hd := e.hold(sid, "", false)
	if hd == nil {
		return Decision{}, false
	}
	defer e.release(hd, false)
	s := &hd.s
	acc := s.acc
	now := at.UnixNano()
	if dt := now - s.last; dt > 0 {
		shadow := session{last: s.last, acc: acc}
		shadow.decay(now, e.hl)
		acc = shadow.acc
	}
	sc := e.score(s, &acc, now)
	imp := e.impactTier[clampTier(tier)-1]
	lvl := e.level(sc, imp)
	action := ladder(OpExchange, lvl, false, false)
	if s.terminated {
		action, lvl = Terminate, LevelCritical
	}
	d := Decision{Score: sc.score, Suspicion: float64(sc.p), Impact: float64(imp), Level: lvl, Action: action, Reasons: sc.reasons,
		ReportOnly: e.p.ReportOnly, Tier: tier, SensitiveTouched: s.sensitive, MaxTTL: e.ttlFor(lvl)}
	if s.sensitive {
		d.MaxTTL = minTTL(d.MaxTTL, e.p.TTL.Sensitive.Std())
	}
	d.NoRefresh = s.sensitive || levelRank(lvl) >= 2 || action != Allow
	return d, true
}

// RestoreFacts rebuilds session sid of clientID from durable state after a
// restart: its sticky facts (as persisted from Decision.NewFacts, points as
// recorded), and how many challenges it was issued and failed. A hard fact
// marks it terminated. Behaviour points are not restored; they would have
// faded. Restoring over live state replaces its facts and counts.
func (e *Engine) RestoreFacts(sid, clientID string, facts []Reason, challenges, failed int) {
	hd := e.hold(sid, clientID, true)
	defer e.release(hd, true)
	e.restore(&hd.s, facts, challenges, failed)
}

// Rehydrate gives session sid of clientID its durable facts and challenge
// counts as RestoreFacts does, but only when the engine holds no state for
// the session; it reports whether it did. A server loading a session's
// durable state for its first event after a restart or after Sweep
// evicted it uses Rehydrate, so that an event judged meanwhile is never
// overwritten.
func (e *Engine) Rehydrate(sid, clientID string, facts []Reason, challenges, failed int) bool {
	if sid == "" {
		return false
	}
	hd := e.hold(sid, clientID, true)
	if !hd.fresh {
		e.release(hd, false)
		return false
	}
	e.restore(&hd.s, facts, challenges, failed)
	e.release(hd, true)
	return true
}

// Holds reports whether the engine holds state for session sid.
func (e *Engine) Holds(sid string) bool {
	_, ok := e.lastSeen(sid)
	return ok
}

// ReasonStateUnavailable explains a call denied because the session's
// durable risk state could not be read: it is not judged as clean.
const ReasonStateUnavailable = "risk.state_unavailable"

func (e *Engine) restore(s *session, facts []Reason, challenges, failed int) {
	s.facts = s.facts[:0]
	for _, r := range facts {
		fp, ok := e.p.Facts[r.Code]
		hard := ok && fp.Hard
		s.facts = append(s.facts, fact{code: r.Code, evidence: r.Evidence, points: int16(min(max(r.Points, 0), 100)), count: 1, hard: hard})
		s.terminated = s.terminated || hard
	}
	s.challenges = uint8(min(max(challenges, 0), 255))
	s.failed = uint8(min(max(failed, 0), 255))
	if s.opened == 0 {
		s.opened = 1 // restored: not a new session, so no schedule check or inherited memory
		s.judgedOpen = true
	}
}

// unixTime converts unix nanoseconds, with 0 and 1 (restored, never seen)
// meaning unknown.
func unixTime(ns int64) time.Time {
	if ns <= 1 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
