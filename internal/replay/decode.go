package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// decodeScenario decodes one scenario object strictly.
func decodeScenario(raw json.RawMessage) (Scenario, error) {
	s := Scenario{Resources: map[string]Resource{}, Clients: map[string]Client{}}
	err := decodeObject(raw, "", fields{
		"id":          leaf(&s.ID),
		"label":       leaf(&s.Label),
		"tags":        leaf(&s.Tags),
		"description": leaf(&s.Description),
		"start":       textValue(func(v string) (err error) { s.Start, err = parseTime(v); return err }),
		"resources": func(raw json.RawMessage, path string) error {
			return objectOf(raw, path, func(k string, raw json.RawMessage, path string) error {
				r, err := decodeResource(raw, path)
				s.Resources[k] = r
				return err
			})
		},
		"clients": func(raw json.RawMessage, path string) error {
			return objectOf(raw, path, func(k string, raw json.RawMessage, path string) error {
				c, err := decodeClient(raw, path)
				s.Clients[k] = c
				return err
			})
		},
		"history": func(raw json.RawMessage, path string) error {
			return array(raw, path, func(raw json.RawMessage, path string) error {
				b, err := decodeBlock(raw, path)
				s.History = append(s.History, b)
				return err
			})
		},
		"steps": func(raw json.RawMessage, path string) error {
			return array(raw, path, func(raw json.RawMessage, path string) error {
				st, err := decodeStep(raw, path)
				s.Steps = append(s.Steps, st)
				return err
			})
		},
	})
	return s, err
}

func decodeResource(raw json.RawMessage, path string) (Resource, error) {
	var r Resource
	err := decodeObject(raw, path, fields{
		"sensitivity": leaf(&r.Sensitivity),
		"tenant":      leaf(&r.Tenant),
		"tactic":      leaf(&r.Tactic),
	})
	return r, err
}

func decodeClient(raw json.RawMessage, path string) (Client, error) {
	var c Client
	err := decodeObject(raw, path, fields{
		"kind":       leaf(&c.Kind),
		"scopes":     leaf(&c.Scopes),
		"audiences":  leaf(&c.Audiences),
		"introspect": leaf(&c.Introspect),
		"networks":   leaf(&c.Networks),
		"may_act":    leaf(&c.MayAct),
		"dpop":       leaf(&c.DPoP),
		"schedule": func(raw json.RawMessage, path string) error {
			c.Schedule = &Schedule{}
			return decodeObject(raw, path, fields{
				"days": leaf(&c.Schedule.Days), "hours": leaf(&c.Schedule.Hours), "tz": leaf(&c.Schedule.TZ),
			})
		},
	})
	return c, err
}

func decodeBlock(raw json.RawMessage, path string) (Block, error) {
	var b Block
	dur := func(d *time.Duration) func(json.RawMessage, string) error {
		return textValue(func(v string) (err error) { *d, err = parseDuration(v); return err })
	}
	err := decodeObject(raw, path, fields{
		"sessions": leaf(&b.Sessions),
		"every":    dur(&b.Every),
		"from":     dur(&b.From),
		"jitter":   dur(&b.Jitter),
		"steps": func(raw json.RawMessage, path string) error {
			return array(raw, path, func(raw json.RawMessage, path string) error {
				st, err := decodeStep(raw, path)
				b.Steps = append(b.Steps, st)
				return err
			})
		},
	})
	return b, err
}

func decodeStep(raw json.RawMessage, path string) (Step, error) {
	st := Step{At: At{Delay: time.Second}, Session: "s1"}
	var ok *bool
	err := decodeObject(raw, path, fields{
		"at":       textValue(func(v string) (err error) { st.At, err = parseAt(v); return err }),
		"session":  textValue(func(v string) error { st.Session = v; return nonEmpty(v) }),
		"op":       leaf(&st.Op),
		"client":   leaf(&st.Client),
		"ip":       textValue(func(v string) (err error) { st.IP, err = parseIP(v); return err }),
		"scope":    leaf(&st.Scope),
		"audience": leaf(&st.Audience),
		"tool":     leaf(&st.Tool),
		"tenant":   leaf(&st.Tenant),
		"rs":       leaf(&st.RS),
		"actor":    leaf(&st.Actor),
		"subject":  leaf(&st.Subject),
		"token":    leaf(&st.Token),
		"reuse":    leaf(&st.Reuse),
		"ok":       leaf(&ok),
		"harmful":  leaf(&st.Harmful),
		"signal": func(raw json.RawMessage, path string) error {
			st.Signal = &Signal{}
			return decodeObject(raw, path, fields{"type": leaf(&st.Signal.Type), "level": leaf(&st.Signal.Level)})
		},
		"expect": func(raw json.RawMessage, path string) error {
			st.Expect = &Expect{}
			return decodeObject(raw, path, fields{
				"decision": leaf(&st.Expect.Decision), "max_ttl": leaf(&st.Expect.MaxTTL),
				"refresh": leaf(&st.Expect.Refresh), "active": leaf(&st.Expect.Active),
			})
		},
	})
	st.OK = ok != nil && *ok
	return st, err
}

func nonEmpty(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	return nil
}

// parseTime reads an RFC 3339 time.
func parseTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, fmt.Errorf("%s is not an RFC 3339 time", quoted(v))
	}
	return t, nil
}

// parseAt reads a step's "at": "+5s" (a delay after the previous step) or an
// absolute RFC 3339 time.
func parseAt(v string) (At, error) {
	if v == "" {
		return At{Delay: time.Second}, nil
	}
	if v[0] != '+' && v[0] != '-' {
		t, err := parseTime(v)
		return At{Time: t}, err
	}
	d, err := parseDuration(v)
	if err == nil && d < 0 {
		return At{}, fmt.Errorf("%s: a step cannot come before the previous one", quoted(v))
	}
	return At{Delay: d}, err
}

func parseIP(v string) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return a, fmt.Errorf("%s is not an IP address", quoted(v))
	}
	return a.Unmap(), nil
}

// parseDuration reads a Go duration that may also use d for days: "-14d",
// "-336h5m", "+150ms", "1d12h".
func parseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%s is not a duration such as 90s, 6h or -14d", quoted(s))
	if s == "" {
		return 0, bad
	}
	sign, body := time.Duration(1), s
	switch body[0] {
	case '-':
		sign, body = -1, body[1:]
	case '+':
		body = body[1:]
	}
	var days time.Duration
	if i := strings.IndexByte(body, 'd'); i >= 0 {
		n, err := strconv.Atoi(body[:i])
		if err != nil || n < 0 || n > 3650 || body[:i] == "" || body[0] == '+' || body[0] == '-' {
			return 0, bad
		}
		days, body = time.Duration(n)*24*time.Hour, body[i+1:]
		if body == "" {
			return sign * days, nil
		}
	}
	if body == "" || body[0] == '-' || body[0] == '+' {
		return 0, bad
	}
	rest, err := time.ParseDuration(body)
	if err != nil || rest > maxDuration || days+rest > maxDuration {
		return 0, bad
	}
	return sign * (days + rest), nil
}

// maxDuration bounds every duration of a scenario: ten years.
const maxDuration = 10 * 365 * 24 * time.Hour
