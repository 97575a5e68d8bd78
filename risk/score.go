package risk

import (
	"math"
	"strconv"
)

// scored is a session's suspicion at one instant and the reasons behind it.
type scored struct {
	// db is the suspicion as log-odds in decibels (10·log10 of the odds that
	// the session is no longer its rightful owner's).
	db float32
	// p is the suspicion as a probability, 1 for a hard fact.
	p     float32
	score int // round(100·p)
	hard  bool
	// holder is the suspicion from evidence about who holds the token alone
	// (network and holder kinds): that it is being used from elsewhere.
	holder  float32
	reasons []Reason
}

// score combines a session's standing evidence into its suspicion: the
// prior, sticky facts, and the faded behaviour evidence, where within one
// kind the strongest detector counts fully and the others by the policy's
// overlap, and different kinds add up (independent evidence multiplies the
// odds). Floors raised by challenges, the client's recent sessions and the
// session's own risky peak keep it from fading below them. A hard fact makes
// it certain.
func (e *Engine) score(s *session, acc *[numDetectors]accum, at int64) scored {
	reasons := make([]Reason, 0, len(s.facts)+6)
	prior := s.prior
	reasons = append(reasons, Reason{Code: ReasonPrior, Points: roundPts(prior), Evidence: "suspicion before evidence (decibels of log-odds)"})
	var ev float32
	hard := false
	for _, f := range s.facts {
		ev += float32(f.points)
		hard = hard || f.hard
		reasons = append(reasons, Reason{Code: f.code, Points: int(f.points), Evidence: f.evidence})
	}
	var top, rest [numKinds]float32
	for i := range acc {
		p := acc[i].pts
		if p < 0.5 {
			continue
		}
		k := detectors[i].kind
		if p > top[k] {
			rest[k] += top[k]
			top[k] = p
		} else {
			rest[k] += p
		}
		reasons = append(reasons, Reason{Code: detectors[i].code, Points: roundPts(p), Evidence: acc[i].ev})
	}
	overlap := float32(e.p.Suspicion.Overlap)
	for k := range top {
		ev += top[k] + overlap*rest[k]
	}
	if s.accum >= 0.5 {
		ev += s.accum
		reasons = append(reasons, Reason{Code: ReasonAccumulated, Points: roundPts(s.accum),
			Evidence: "novelty and volume the client's recent sessions accumulated beyond its normal"})
	}
	chal, carry := e.floors(s, at)
	if chal >= 0.5 {
		reasons = append(reasons, Reason{Code: ReasonChallengeHistory, Points: roundPts(chal), Evidence: challengeEvidence(s)})
	}
	if carry >= 0.5 {
		reasons = append(reasons, Reason{Code: ReasonRecentSessions, Points: roundPts(carry), Evidence: "floor from the client's recent sessions"})
	}
	if own := e.ownFloor(s, at); own >= 0.5 && own > carry {
		carry = own
		if own >= ev { // the floor decides only when the live evidence has faded below it
			reasons = append(reasons, Reason{Code: ReasonSessionPeak, Points: roundPts(own), Evidence: "floor from this session's risky peak"})
		}
	}
	db := prior + max(ev, chal+carry)
	held := top[kindNetwork] + overlap*rest[kindNetwork] + top[kindHolder] + overlap*rest[kindHolder]
	sc := scored{db: db, p: probability(db), hard: hard, reasons: reasons, holder: probability(prior + held)}
	if hard {
		sc.p = 1
	}
	sc.score = int(math.Round(float64(100 * sc.p)))
	return sc
}

// probability turns decibels of log-odds into a probability.
func probability(db float32) float32 {
	odds := math.Pow(10, float64(db)/10)
	return float32(odds / (1 + odds))
}

func roundPts(v float32) int { return int(math.Round(float64(v))) }

// floors returns the challenge floor and the carried client floor at time
// at, in decibels above the prior.
func (e *Engine) floors(s *session, at int64) (chal, carry float32) {
	c := e.p.Challenge
	chal = float32(c.FloorPerChallenge)*float32(s.challenges) + float32(c.FloorPerFailure)*float32(s.failed) + s.inheritedPts
	carry = s.carry
	if carry > 0 && at > s.carryAt {
		carry *= float32(math.Exp2(-float64(at-s.carryAt) / e.memHL))
	}
	return chal, carry
}

// riskyPeak is the evidence (decibels above the prior) at which a session's
// peak is remembered: a peak that reached the low suspicion threshold.
func (e *Engine) riskyPeak(prior float32) float32 {
	p := float64(e.p.Thresholds.Low) / 100
	return float32(10*math.Log10(p/(1-p))) - prior
}

// ownFloor is the floor a session's own risky peak (one that reached the
// low threshold or met friction) leaves: Memory.Carry
// times the peak evidence, fading with the memory half-life, so waiting
// inside a session launders no more risk than splitting the work into new
// sessions.
func (e *Engine) ownFloor(s *session, at int64) float32 {
	if !s.risky {
		return 0
	}
	f := float32(e.p.Memory.Carry) * s.peakDB
	if at > s.peakAt {
		f *= float32(math.Exp2(-float64(at-s.peakAt) / e.memHL))
	}
	return f
}

func challengeEvidence(s *session) string {
	return strconv.Itoa(int(s.challenges)) + " challenges, " + strconv.Itoa(int(s.failed)) +
		" failed, " + strconv.Itoa(int(s.inherited)) + " unanswered or failed recently by the client"
}

// level maps suspicion p and the call's impact to a level: the expected
// loss p·impact against the policy's loss bands scaled by its tolerance,
// raised to the level the suspicion alone reaches (Thresholds). Critical
// comes from suspicion alone: by default (100) only certainty, a hard fact,
// reaches it.
func (e *Engine) level(sc scored, impact float32) Level {
	t := e.p.Thresholds
	switch {
	case sc.hard || float64(sc.p)*100 >= float64(t.Critical):
		return LevelCritical
	}
	loss := float64(sc.p) * float64(impact)
	tol := e.p.Tolerance
	l := e.p.Loss
	var lvl Level
	switch {
	case loss > l.High*tol:
		lvl = LevelHigh
	case loss > l.Medium*tol:
		lvl = LevelMedium
	case loss > l.Low*tol:
		lvl = LevelLow
	default:
		lvl = LevelNone
	}
	var floor Level
	switch {
	case sc.score >= t.High:
		floor = LevelHigh
	case sc.score >= t.Medium:
		floor = LevelMedium
	case sc.score >= t.Low:
		floor = LevelLow
	default:
		floor = LevelNone
	}
	if levelRank(floor) > levelRank(lvl) {
		return floor
	}
	return lvl
}
