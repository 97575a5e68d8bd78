package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// The types below are the public scenario format (format v1) as written:
// a generated scenario is marshalled with them and parsed back by
// replay.Parse, which checks it as it checks any corpus.

type jScenario struct {
	ID          string               `json:"id"`
	Label       string               `json:"label"`
	Tags        []string             `json:"tags"`
	Description string               `json:"description"`
	Start       string               `json:"start"`
	Resources   map[string]jResource `json:"resources"`
	Clients     map[string]jClient   `json:"clients"`
	History     []jBlock             `json:"history"`
	Steps       []jStep              `json:"steps"`
}

type jResource struct {
	Sensitivity int    `json:"sensitivity"`
	Tenant      string `json:"tenant,omitempty"`
	Tactic      string `json:"tactic,omitempty"`
}

type jClient struct {
	Kind       string     `json:"kind"`
	Scopes     []string   `json:"scopes"`
	Audiences  []string   `json:"audiences"`
	Introspect []string   `json:"introspect,omitempty"`
	Schedule   *jSchedule `json:"schedule,omitempty"`
	Networks   []string   `json:"networks,omitempty"`
	MayAct     []string   `json:"may_act,omitempty"`
	DPoP       bool       `json:"dpop,omitempty"`
}

type jSchedule struct {
	Days  string `json:"days"`
	Hours string `json:"hours"`
	TZ    string `json:"tz"`
}

type jBlock struct {
	Sessions int     `json:"sessions"`
	Every    string  `json:"every"`
	From     string  `json:"from"`
	Jitter   string  `json:"jitter"`
	Steps    []jStep `json:"steps"`
}

type jStep struct {
	At       string   `json:"at,omitempty"`
	Session  string   `json:"session,omitempty"`
	Op       string   `json:"op"`
	Client   string   `json:"client,omitempty"`
	IP       string   `json:"ip,omitempty"`
	Scope    string   `json:"scope,omitempty"`
	Audience string   `json:"audience,omitempty"`
	Tool     string   `json:"tool,omitempty"`
	Tenant   string   `json:"tenant,omitempty"`
	RS       string   `json:"rs,omitempty"`
	Actor    string   `json:"actor,omitempty"`
	Subject  string   `json:"subject,omitempty"`
	Reuse    bool     `json:"reuse,omitempty"`
	OK       *bool    `json:"ok,omitempty"`
	Signal   *jSignal `json:"signal,omitempty"`
	Harmful  bool     `json:"harmful,omitempty"`
}

type jSignal struct {
	Type  string `json:"type"`
	Level string `json:"level,omitempty"`
}

// delay renders a step delay as "+5s".
func delay(d time.Duration) string { return "+" + d.String() }

// offset renders a signed duration in the format's duration syntax.
func offset(d time.Duration) string {
	if d < 0 {
		return "-" + (-d).String()
	}
	return d.String()
}

// WriteJSONL writes the scenarios of p as format-v1 JSON Lines, one
// scenario per line, in generation order.
func (p *Population) WriteJSONL(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, c := range p.Cases {
		if _, err := bw.Write(c.raw); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		if err := bw.WriteByte('\n'); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
	}
	return bw.Flush()
}

// marshalLine encodes one scenario as a JSON line without HTML escaping.
func marshalLine(s jScenario) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
