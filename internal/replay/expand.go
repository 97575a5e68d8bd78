package replay

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"
)

// Timed is one step placed on the virtual clock.
type Timed struct {
	At time.Time
	// Session labels the step's session uniquely within the run: "run/s1"
	// for scored steps, "h<block>.<i>/s1" for history.
	Session string
	Step    Step
	// Scored is false for history; Index is the position among the scored
	// steps.
	Scored bool
	Index  int
}

// Expand places every history and scored step of s on the virtual clock:
// the history blocks expanded into their sessions and replayed in time
// order across all of them (ties keep file order), then the scored steps
// in order from s.Start. Session i of a block starts at Start + From +
// i*Every, shifted by a deterministic offset within ±Jitter seeded by the
// scenario id and i.
func Expand(s Scenario) []Timed {
	var hist []Timed
	for b, blk := range s.History {
		for i := range blk.Sessions {
			at := s.Start.Add(blk.From + time.Duration(i)*blk.Every + jitterOffset(s.ID, i, blk.Jitter))
			for _, st := range blk.Steps {
				at = st.At.after(at)
				hist = append(hist, Timed{At: at, Session: fmt.Sprintf("h%d.%d/%s", b, i, st.Session), Step: st})
			}
		}
	}
	slices.SortStableFunc(hist, func(a, b Timed) int { return a.At.Compare(b.At) })
	out := hist
	at := s.Start
	for i, st := range s.Steps {
		at = st.At.after(at)
		out = append(out, Timed{At: at, Session: "run/" + st.Session, Step: st, Scored: true, Index: i})
	}
	return out
}

// jitterOffset is history session i's offset, uniform in ±jitter, from a
// PCG generator seeded with the FNV-1a hash of the scenario id and i.
func jitterOffset(id string, i int, jitter time.Duration) time.Duration {
	if jitter <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	r := rand.New(rand.NewPCG(h.Sum64(), uint64(i)))
	return time.Duration(r.Int64N(int64(2*jitter)+1)) - jitter
}
