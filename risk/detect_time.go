package risk

import (
	"strconv"
	"time"
)

// schedule runs time.off_schedule when a session opens: outside the declared
// schedule, or at an hour or on a weekday the client's baseline almost never
// starts at. The stronger of the two counts.
func (x *evaluation) schedule() {
	t := x.eventTime()
	var pts float32
	ev := ""
	if sc := x.ev.Client.Schedule; sc != nil {
		if d := sc.Outside(t); d > 0 {
			pts, ev = ptsOffDeclared, "outside the declared schedule by "+d.Round(time.Minute).String()
			if d <= scheduleSlack {
				pts = ptsOffDeclaredNear
			}
		}
	}
	if lp, lev := x.learnedHour(t); lp > pts {
		pts, ev = lp, lev
	}
	if pts > 0 {
		x.add(dOffSchedule, pts, ev)
	}
}

// learnedHour scores t against the hour-of-week histogram of a mature
// baseline: an hour of day (±1h) with under 2% of the sessions, or a weekday
// with none.
func (x *evaluation) learnedHour(t time.Time) (float32, string) {
	b := x.base
	if !x.mature() {
		return 0, ""
	}
	var total, hod, day float32
	h, wd := t.UTC().Hour(), int(t.UTC().Weekday())
	for i, n := range b.Hours {
		total += n
		if dh := (i%24 - h + 24) % 24; dh <= 1 || dh == 23 {
			hod += n
		}
		if i/24 == wd {
			day += n
		}
	}
	switch {
	case total <= 0:
		return 0, ""
	case hod/total < 0.02:
		return ptsOffLearned, "sessions rarely start near " + strconv.Itoa(h) + ":00 UTC for this client"
	case day/total < 0.01:
		return ptsOffLearnedDay, "this client never runs on " + time.Weekday(wd).String()
	}
	return 0, ""
}

// Outside returns how far t lies outside the schedule's windows, 0 when t is
// inside one. Days == 0 means every day; a nil Loc means UTC.
func (sc *Schedule) Outside(t time.Time) time.Duration {
	loc := sc.Loc
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	best := time.Duration(1<<63 - 1)
	for d := -7; d <= 7; d++ { // a week either side finds the nearest window
		y, m, dd := lt.Year(), lt.Month(), lt.Day()+d
		day := time.Date(y, m, dd, 12, 0, 0, 0, loc) // noon: the right weekday whatever the DST shift
		if sc.Days != 0 && sc.Days&(1<<uint(day.Weekday())) == 0 {
			continue
		}
		// wall-clock times in the schedule's zone, so a window keeps its
		// local hours across daylight-saving changes
		start := time.Date(y, m, dd, sc.Start/60, sc.Start%60, 0, 0, loc)
		endDay := dd
		if sc.End <= sc.Start {
			endDay++
		}
		end := time.Date(y, m, endDay, sc.End/60, sc.End%60, 0, 0, loc)
		if !t.Before(start) && t.Before(end) {
			return 0
		}
		best = min(best, absDur(t.Sub(start)), absDur(t.Sub(end)))
	}
	return best
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// monthTurn reports whether t falls at the turn of a month in the client's
// time zone loc: on the last three days of a month or in the first twelve
// hours of the next. Periodic peaks (month-end closing, billing and
// reporting runs) fall there; three days and the half-day after keep the
// turn in view for a client whose zone the engine does not know (UTC
// then: a zone up to a day east or twelve hours west).
func monthTurn(t time.Time, loc *time.Location) bool {
	lt := t.In(loc)
	if lt.Day() == 1 && lt.Hour() < 12 {
		return true
	}
	return lt.AddDate(0, 0, 3).Month() != lt.Month()
}

// zone is the client's time zone as the engine knows it: its declared
// schedule's, else UTC.
func (p *ClientProfile) zone() *time.Location {
	if p.Schedule != nil && p.Schedule.Loc != nil {
		return p.Schedule.Loc
	}
	return time.UTC
}
