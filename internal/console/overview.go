package console

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// The overview's charts of decisions, reasons and terminations look at
// the newest overviewScan sessions; its live sessions by level too, unless
// the risk engine counts them (Deps.Live).
const (
	overviewScan    = 500
	decisionWindow  = 30 // minutes
	terminationsLen = 10
)

// overview answers GET /console/overview: live sessions by level,
// decisions per minute by action, top reasons and recent terminations.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	kinds, _, err := c.clientKinds(ctx)
	if err == nil {
		var ss []storage.Session
		ss, err = c.d.Store.ListSessions(ctx, storage.SessionFilter{Limit: overviewScan})
		if err == nil {
			var rows []summary
			for _, x := range ss {
				var sm summary
				if sm, err = c.summarize(ctx, x, kinds, c.d.Now()); err != nil {
					break
				}
				rows = append(rows, sm)
			}
			if err == nil {
				data := overviewData(rows, c.d.Now())
				data["Scanned"], data["Capped"] = len(ss), len(ss) == overviewScan
				if c.d.Live != nil {
					c.engineLive(data)
				}
				c.render(w, r, http.StatusOK, "overview", s, data, titled("Overview"), nav("overview"))
				return
			}
		}
	}
	c.fail(w, r, s, http.StatusServiceUnavailable, "The store cannot be read: "+err.Error())
}

func overviewData(rows []summary, now time.Time) map[string]any {
	levels := []string{"none", "low", "medium", "high", "critical"}
	byLevel := map[string]int{}
	live := 0
	perMin := map[string][]int{}
	for _, a := range actionNames {
		perMin[a] = make([]int, decisionWindow)
	}
	reasons := map[string]int{}
	var terminated []summary
	start := now.Truncate(time.Minute).Add(-(decisionWindow - 1) * time.Minute)
	for _, sm := range rows {
		if sm.Live {
			live++
			byLevel[cmp.Or(sm.Level, "none")]++
		}
		if sm.Status == storage.SessionTerminated {
			terminated = append(terminated, sm)
		}
		for _, ev := range sm.Events {
			if ev.Action != "" && !ev.At.Before(start) && ev.At.Before(start.Add(decisionWindow*time.Minute)) {
				if vs, ok := perMin[ev.Action]; ok {
					vs[int(ev.At.Sub(start)/time.Minute)]++
				}
			}
			if now.Sub(ev.At) <= 24*time.Hour {
				for _, rs := range ev.Reasons {
					reasons[rs.Code]++
				}
			}
		}
	}
	var lvlBars []bar
	for _, l := range levels {
		lvlBars = append(lvlBars, bar{Label: l, Value: byLevel[l], Class: "lvl-" + l, Href: Prefix + "/sessions?status=active&level=" + l})
	}
	var reasonBars []bar
	for code, n := range reasons {
		reasonBars = append(reasonBars, bar{Label: code, Value: n, Class: "reason"})
	}
	slices.SortFunc(reasonBars, func(a, b bar) int { return cmp.Or(b.Value-a.Value, cmp.Compare(a.Label, b.Label)) })
	reasonBars = reasonBars[:min(len(reasonBars), 10)]
	slots := make([]string, decisionWindow)
	for i := range slots {
		slots[i] = start.Add(time.Duration(i) * time.Minute).UTC().Format("15:04")
	}
	var ss []series
	for _, a := range actionNames {
		ss = append(ss, series{Name: a, Class: "act-" + a, Values: perMin[a]})
	}
	slices.SortFunc(terminated, func(a, b summary) int { return b.TerminatedAt.Compare(a.TerminatedAt) })
	hours := make([]int, 24)
	hourSlots := make([]string, 24)
	h0 := now.Truncate(time.Hour).Add(-23 * time.Hour)
	for i := range hourSlots {
		hourSlots[i] = h0.Add(time.Duration(i) * time.Hour).UTC().Format("Jan 2 15:00")
	}
	for _, t := range terminated {
		if i := int(t.TerminatedAt.Sub(h0) / time.Hour); !t.TerminatedAt.Before(h0) && i < 24 {
			hours[i]++
		}
	}
	return map[string]any{
		"Live":         live,
		"LevelChart":   barChart("live-by-level", "Live sessions by risk level", lvlBars),
		"Levels":       lvlBars,
		"DecisionMin":  columnChart("decisions", "Decisions per minute by action, last 30 minutes (UTC)", slots, ss),
		"ReasonChart":  barChart("top-reasons", "Top reasons, last 24 hours", reasonBars),
		"TermChart":    columnChart("terminations", "Terminations per hour, last 24 hours (UTC)", hourSlots, []series{{Name: "terminated", Class: "act-terminate", Values: hours}}),
		"Terminations": terminated[:min(len(terminated), terminationsLen)],
	}
}

// engineLive replaces the live sessions by level, counted from the newest
// sessions, with the risk engine's counts of every session it holds open.
func (c *Console) engineLive(data map[string]any) {
	live := 0
	var bars []bar
	for _, l := range risk.Levels() {
		n := c.d.Live.LiveSessions(l)
		live += n
		bars = append(bars, bar{Label: string(l), Value: n, Class: "lvl-" + string(l), Href: Prefix + "/sessions?status=active&level=" + string(l)})
	}
	data["Live"], data["Levels"] = live, bars
	data["LevelChart"] = barChart("live-by-level", "Live sessions by risk level", bars)
	data["LiveFromEngine"], data["LivePartial"] = true, c.d.LivePartial
}
