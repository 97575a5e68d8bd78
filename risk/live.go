package risk

import "sync/atomic"

// liveLevels are the levels live sessions are counted by, lowest first; a
// head's lvl is a level's index plus one, and 0 while it is not counted.
var liveLevels = [...]Level{LevelNone, LevelLow, LevelMedium, LevelHigh, LevelCritical}

// Levels returns every risk level, lowest first.
func Levels() []Level { return append([]Level(nil), liveLevels[:]...) }

// liveCounts counts the sessions the engine holds open by the level of
// their latest decision. Each session's head remembers the level it is
// counted under, so a count moves on each decision and on each end: never
// a scan.
type liveCounts [len(liveLevels)]atomic.Int64

// liveIndex returns l's counter index plus one, 0 for no level.
func liveIndex(l Level) uint8 {
	for i, x := range liveLevels {
		if x == l {
			return uint8(i + 1)
		}
	}
	return 0
}

// count moves h from the level it is counted under to lvl (0: none). The
// caller holds h's lock.
func (lc *liveCounts) count(h *head, lvl uint8) {
	if h == nil || h.lvl == lvl {
		return
	}
	if h.lvl > 0 {
		lc[h.lvl-1].Add(-1)
	}
	if lvl > 0 {
		lc[lvl-1].Add(1)
	}
	h.lvl = lvl
}

// LiveSessions returns how many sessions the engine holds open (not ended,
// not yet swept) whose latest decision was at level l. It reads one
// counter, so it may be called on every metrics scrape.
func (e *Engine) LiveSessions(l Level) int {
	i := liveIndex(l)
	if i == 0 {
		return 0
	}
	return int(e.live[i-1].Load())
}
