package cluster

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// wireEvent is a risk.Event as it travels between instances. JSON carries
// every field as it is except a schedule's location, which travels by name.
type wireEvent struct {
	Event    risk.Event `json:"event"`
	ClientTZ string     `json:"client_tz,omitempty"`
	ActorTZ  string     `json:"actor_tz,omitempty"`
}

func encodeEvent(ev risk.Event) ([]byte, error) {
	w := wireEvent{Event: ev, ClientTZ: tzOf(ev.Client.Schedule), ActorTZ: tzOf(ev.ActorProfile.Schedule)}
	return json.Marshal(w)
}

func decodeEvent(b []byte) (risk.Event, error) {
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return risk.Event{}, fmt.Errorf("cluster: event: %w", err)
	}
	ev := w.Event
	for _, p := range []struct {
		s  *risk.Schedule
		tz string
	}{{ev.Client.Schedule, w.ClientTZ}, {ev.ActorProfile.Schedule, w.ActorTZ}} {
		if p.s == nil {
			continue
		}
		loc, err := location(p.tz)
		if err != nil {
			return risk.Event{}, fmt.Errorf("cluster: event: schedule: %w", err)
		}
		p.s.Loc = loc
	}
	return ev, nil
}

func tzOf(s *risk.Schedule) string {
	if s == nil || s.Loc == nil {
		return ""
	}
	return s.Loc.String()
}

var locations sync.Map // name → *time.Location

// location loads the named zone once; "" is nil (the schedule's default).
func location(name string) (*time.Location, error) {
	if name == "" {
		return nil, nil
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}
