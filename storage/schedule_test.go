package storage_test

import (
	"testing"

	"github.com/vigil-auth/vigil/storage"
)

func TestScheduleWindow(t *testing.T) {
	const weekdays = 0b0111110 // Mon-Fri, bit 0 = Sunday
	tests := []struct {
		in         storage.Schedule
		days       uint8
		start, end int
		zone       string
		bad        bool
	}{
		{in: storage.Schedule{}, days: 0x7f, start: 0, end: 1440, zone: "UTC"},
		{in: storage.Schedule{Days: "Mon-Fri", Hours: "08:00-18:00", TZ: "Europe/Paris"}, days: weekdays, start: 480, end: 1080, zone: "Europe/Paris"},
		{in: storage.Schedule{Days: "monday - FRIDAY"}, days: weekdays, start: 0, end: 1440, zone: "UTC"},
		{in: storage.Schedule{Days: "Fri-Mon"}, days: 0b1100011, start: 0, end: 1440, zone: "UTC"},
		{in: storage.Schedule{Days: "Sat,Sun", Hours: "22:00-06:00"}, days: 0b1000001, start: 1320, end: 360, zone: "UTC"},
		{in: storage.Schedule{Hours: "00:00-24:00"}, days: 0x7f, start: 0, end: 1440, zone: "UTC"},
		{in: storage.Schedule{Days: "Monxyz"}, bad: true},
		{in: storage.Schedule{Days: "Mon-"}, bad: true},
		{in: storage.Schedule{Hours: "8:00-18:00"}, bad: true},
		{in: storage.Schedule{Hours: "08:00-08:00"}, bad: true},
		{in: storage.Schedule{Hours: "08:00-24:01"}, bad: true},
		{in: storage.Schedule{TZ: "Mars/Olympus"}, bad: true},
	}
	for _, tt := range tests {
		w, err := tt.in.Window()
		if tt.bad {
			if err == nil || tt.in.Validate() == nil {
				t.Errorf("%+v: parsed as %+v, want an error", tt.in, w)
			}
			continue
		}
		if err != nil || tt.in.Validate() != nil {
			t.Errorf("%+v: %v", tt.in, err)
			continue
		}
		if w.Days != tt.days || w.Start != tt.start || w.End != tt.end || w.Loc.String() != tt.zone {
			t.Errorf("%+v = {%07b %d-%d %s}, want {%07b %d-%d %s}", tt.in, w.Days, w.Start, w.End, w.Loc, tt.days, tt.start, tt.end, tt.zone)
		}
	}
}
