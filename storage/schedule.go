package storage

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Window is a parsed Schedule: Days is a bit set of weekdays (bit 0 =
// Sunday), Start and End are minutes after midnight in Loc, and End <=
// Start means the window wraps past midnight.
type Window struct {
	Days       uint8
	Start, End int
	Loc        *time.Location
}

// Window parses s. Days is a comma-separated list of English day names or
// ranges ("Mon-Fri", "Sat,Sun", "Fri-Mon"; three letters or full, any
// case; "" means every day), Hours is "HH:MM-HH:MM" between 00:00 and 24:00
// ("" means all day; a window may wrap past midnight), and TZ is an IANA zone
// name ("" means UTC). The error names each field that does not parse.
func (s Schedule) Window() (Window, error) {
	w := Window{Days: 0x7f, Start: 0, End: 24 * 60, Loc: time.UTC}
	var p problems
	if s.Days != "" {
		days, err := parseDays(s.Days)
		p.addErr("days", err)
		w.Days = days
	}
	if s.Hours != "" {
		start, end, err := parseHours(s.Hours)
		p.addErr("hours", err)
		w.Start, w.End = start, end
	}
	if s.TZ != "" {
		loc, err := time.LoadLocation(s.TZ)
		if err != nil {
			p.add("tz", "%q is not a known time zone", s.TZ)
		}
		w.Loc = loc
	}
	if err := errors.Join(p...); err != nil {
		return Window{}, err
	}
	return w, nil
}

// Validate reports whether s's days, hours and time zone parse (see Window).
func (s Schedule) Validate() error {
	_, err := s.Window()
	return err
}

var weekdays = map[string]int{
	"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
	"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6,
}

// parseDays reads "Mon-Fri", "Sat,Sun", "Mon,Wed-Fri" into a bit set; a
// range runs forward through the week ("Fri-Mon" is Fri, Sat, Sun, Mon).
func parseDays(s string) (uint8, error) {
	var set uint8
	for item := range strings.SplitSeq(s, ",") {
		a, b, isRange := strings.Cut(item, "-")
		from, ok := weekdays[strings.ToLower(strings.TrimSpace(a))]
		if !ok {
			return 0, fmt.Errorf("%q: %q is not a day such as Mon", s, a)
		}
		to := from
		if isRange {
			if to, ok = weekdays[strings.ToLower(strings.TrimSpace(b))]; !ok {
				return 0, fmt.Errorf("%q: %q is not a day such as Fri", s, b)
			}
		}
		for d := from; ; d = (d + 1) % 7 {
			set |= 1 << d
			if d == to {
				break
			}
		}
	}
	return set, nil
}

// parseHours reads "HH:MM-HH:MM" with distinct ends into minutes after
// midnight.
func parseHours(s string) (start, end int, err error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a window such as 08:00-18:00", s)
	}
	a, errA := clockMinutes(strings.TrimSpace(from))
	b, errB := clockMinutes(strings.TrimSpace(to))
	switch {
	case errA != nil || errB != nil:
		return 0, 0, fmt.Errorf("%q is not a window such as 08:00-18:00", s)
	case a == b:
		return 0, 0, fmt.Errorf("%q is an empty window", s)
	}
	return a, b, nil
}

// clockMinutes parses "HH:MM" (00:00 to 24:00) into minutes after midnight.
func clockMinutes(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, errors.New("want HH:MM")
	}
	d := [4]int{}
	for n, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("want HH:MM")
		}
		d[n] = int(s[i] - '0')
	}
	h, m := d[0]*10+d[1], d[2]*10+d[3]
	if m > 59 || h*60+m > 24*60 {
		return 0, errors.New("out of range")
	}
	return h*60 + m, nil
}
