package risk

import (
	"math"
	"math/bits"
	"strconv"
)

// scored is a session's score at one instant and the reasons behind it.
type scored struct {
	score   int
	reasons []Reason
}

// score combines a session's standing evidence: sticky fact points, the
// faded behaviour points (each capped), a bonus when behaviour evidence of
// several kinds agrees, and the floor raised by challenges and by the client's recent
// sessions. Any hard fact scores 100.
func (e *Engine) score(s *session, acc *[numDetectors]accum, at int64) scored {
	reasons := make([]Reason, 0, len(s.facts)+6)
	var raw float32
	var kinds uint16
	hard := false
	for _, f := range s.facts {
		raw += float32(f.points)
		hard = hard || f.hard
		reasons = append(reasons, Reason{Code: f.code, Points: int(f.points), Evidence: f.evidence})
	}
	for i := range acc {
		p := acc[i].pts
		if p < 0.5 {
			continue
		}
		raw += p
		if p >= float32(e.p.Agreement.MinPoints) {
			kinds |= 1 << detectors[i].kind
		}
		reasons = append(reasons, Reason{Code: detectors[i].code, Points: int(p + 0.5), Evidence: acc[i].ev})
	}
	if n := bits.OnesCount16(kinds); n > 1 {
		bonus := min(e.p.Agreement.PerKind*(n-1), e.p.Agreement.Max)
		raw += float32(bonus)
		reasons = append(reasons, Reason{Code: ReasonAgreement, Points: bonus, Evidence: strconv.Itoa(n) + " kinds of evidence"})
	}
	chal, carry := e.floors(s, at)
	if chal >= 0.5 {
		reasons = append(reasons, Reason{Code: ReasonChallengeHistory, Points: int(chal + 0.5), Evidence: challengeEvidence(s)})
	}
	if carry >= 0.5 {
		reasons = append(reasons, Reason{Code: ReasonRecentSessions, Points: int(carry + 0.5), Evidence: "floor from the client's recent sessions"})
	}
	if own := e.ownFloor(s, at); own >= 0.5 && own > carry {
		carry = own
		if own < raw { // the floor decides only when the live evidence has faded below it
			own = 0
		}
		if own >= 0.5 {
			reasons = append(reasons, Reason{Code: ReasonSessionPeak, Points: int(own + 0.5), Evidence: "floor from this session's risky peak"})
		}
	}
	sc := int(math.Round(float64(max(raw, chal+carry))))
	if hard {
		sc = 100
	}
	return scored{score: min(max(sc, 0), 100), reasons: reasons}
}

// floors returns the challenge floor and the carried client floor at time at.
func (e *Engine) floors(s *session, at int64) (chal, carry float32) {
	c := e.p.Challenge
	chal = float32(c.FloorPerChallenge)*float32(s.challenges) + float32(c.FloorPerFailure)*float32(s.failed) + s.inheritedPts
	carry = s.carry
	if carry > 0 && at > s.carryAt {
		carry *= float32(math.Exp2(-float64(at-s.carryAt) / e.memHL))
	}
	return chal, carry
}

// ownFloor is the floor a session's own risky peak (medium or above)
// leaves: Memory.Carry times the peak, fading with the memory half-life,
// so waiting inside a session launders no more risk than splitting the
// work into new sessions.
func (e *Engine) ownFloor(s *session, at int64) float32 {
	if int(s.peak) < e.p.Thresholds.Medium {
		return 0
	}
	f := float32(e.p.Memory.Carry) * float32(s.peak)
	if at > s.peakAt {
		f *= float32(math.Exp2(-float64(at-s.peakAt) / e.memHL))
	}
	return f
}

func challengeEvidence(s *session) string {
	return strconv.Itoa(int(s.challenges)) + " challenges, " + strconv.Itoa(int(s.failed)) +
		" failed, " + strconv.Itoa(int(s.inherited)) + " unanswered or failed recently by the client"
}

// level maps a score to a level for a resource of the given tier: the low,
// medium and high thresholds drop by the tier's adjustment.
func (e *Engine) level(score, tier int) Level {
	t := e.p.Thresholds
	adj := e.p.TierAdjust[clampTier(tier)-1]
	switch {
	case score >= t.Critical:
		return LevelCritical
	case score >= t.High-adj:
		return LevelHigh
	case score >= t.Medium-adj:
		return LevelMedium
	case score >= t.Low-adj:
		return LevelLow
	}
	return LevelNone
}
