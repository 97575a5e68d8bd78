package replay

import (
	"net/netip"
	"time"
)

// Labels of a scenario: the ground truth it is scored against.
const (
	LabelBenign    = "benign"
	LabelMalicious = "malicious"
)

// Operations a step may perform (FORMAT.md, "Operations").
const (
	OpToken      = "token"
	OpExchange   = "exchange"
	OpRefresh    = "refresh"
	OpIntrospect = "introspect"
	OpRevalidate = "revalidate"
	OpSignal     = "signal"
	OpRevoke     = "revoke"
)

// Decisions a scored step can get (FORMAT.md, "Outcomes and scoring").
const (
	Allow     = "allow"
	StepUp    = "step_up"
	Deny      = "deny"
	Terminate = "terminate"
)

// Scenario is one parsed scenario: a labelled story of clients using the
// server, with history to learn from and scored steps.
type Scenario struct {
	ID          string
	Label       string
	Tags        []string
	Description string
	// Start is the virtual time of the first scored step.
	Start     time.Time
	Resources map[string]Resource
	Clients   map[string]Client
	History   []Block
	Steps     []Step
	// File and Line say where the scenario was read from.
	File string
	Line int
}

// Resource is what an audience (a resource or tool server) is.
type Resource struct {
	Sensitivity int
	Tenant      string
	Tactic      string
}

// Client is a scenario client's registration.
type Client struct {
	Kind       string
	Scopes     []string
	Audiences  []string
	Introspect []string
	Schedule   *Schedule
	Networks   []string
	MayAct     []string
	DPoP       bool
}

// Schedule is a client's declared weekly window.
type Schedule struct {
	Days  string
	Hours string
	TZ    string
}

// Block is a history block: Sessions sessions, session i starting at
// Start + From + i*Every, shifted by a deterministic offset within ±Jitter.
type Block struct {
	Sessions int
	Every    time.Duration
	From     time.Duration
	Jitter   time.Duration
	Steps    []Step
}

// At places a step on the virtual clock: Delay after the previous step, or
// at Time when it is set.
type At struct {
	Delay time.Duration
	Time  time.Time
}

// after returns the step's time given the previous step's.
func (a At) after(prev time.Time) time.Time {
	if !a.Time.IsZero() {
		return a.Time
	}
	return prev.Add(a.Delay)
}

// Step is one call, event or answer in a scenario.
type Step struct {
	At       At
	Session  string // "s1" when the file leaves it out
	Op       string
	Client   string
	IP       netip.Addr // invalid when the file gives none
	Scope    string
	Audience string
	Tool     string
	Tenant   string
	RS       string
	Actor    string
	Subject  string // "" or "latest"
	Token    string // "" or "first"
	Reuse    bool
	OK       bool
	Signal   *Signal
	Harmful  bool
	Expect   *Expect
}

// Signal is an inbound security event (CAEP-shaped).
type Signal struct {
	Type  string
	Level string
}

// Expect holds a step's extra checks; nil fields are not checked.
type Expect struct {
	Decision string
	MaxTTL   *int
	Refresh  *bool
	Active   *bool
}
