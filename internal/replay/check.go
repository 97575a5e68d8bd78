package replay

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-auth/vigil/storage"
)

var (
	ops       = []string{OpToken, OpExchange, OpRefresh, OpIntrospect, OpRevalidate, OpSignal, OpRevoke}
	decisions = []string{Allow, StepUp, Deny, Terminate}
	signals   = []string{"credential-change", "session-revoked", "risk-level-change"}
	levels    = []string{"low", "medium", "high"}
)

// maxHistorySteps bounds the steps one scenario's history expands to.
const maxHistorySteps = 200_000

// check reports the first semantic problem of s: missing or invalid
// values, registrations Vigil would refuse, and references to clients the
// scenario does not declare.
func (s *Scenario) check() error {
	switch {
	case s.ID == "":
		return fieldErr("id", "is required")
	case s.Start.IsZero():
		return fieldErr("start", "is required")
	}
	if err := oneOf(s.Label, false, LabelBenign, LabelMalicious); err != nil {
		return &fieldError{path: "label", err: err}
	}
	if err := s.checkRegistrations(); err != nil {
		return err
	}
	total := 0
	for i, b := range s.History {
		if err := s.checkBlock(b, fmt.Sprintf("history[%d]", i)); err != nil {
			return err
		}
		if total += b.Sessions * len(b.Steps); total > maxHistorySteps {
			return fieldErr(fmt.Sprintf("history[%d]", i), "the history expands to more than %d steps", maxHistorySteps)
		}
	}
	for i, st := range s.Steps {
		if err := s.checkStep(st, fmt.Sprintf("steps[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// checkRegistrations validates resources and clients with the rules
// Vigil applies at registration.
func (s *Scenario) checkRegistrations() error {
	for _, aud := range sortedKeys(s.Resources) {
		if err := s.Resources[aud].record(aud).Validate(); err != nil {
			return problem("resources."+aud, err)
		}
	}
	for _, id := range sortedKeys(s.Clients) {
		c := s.Clients[id]
		rec := c.record(id)
		rec.SecretHash = "placeholder" // credentials are the replay's to make
		if err := rec.Validate(); err != nil {
			return problem("clients."+id, err)
		}
	}
	return nil
}

func (s *Scenario) checkBlock(b Block, path string) error {
	switch {
	case b.Sessions < 0 || b.Sessions > 10000:
		return fieldErr(path+".sessions", "%d is not in 0..10000", b.Sessions)
	case b.Every < 0:
		return fieldErr(path+".every", "must not be negative")
	case b.Jitter < 0:
		return fieldErr(path+".jitter", "must not be negative")
	case float64(b.Sessions)*b.Every.Hours() > maxDuration.Hours():
		return fieldErr(path+".every", "%d sessions every %v span more than ten years", b.Sessions, b.Every)
	}
	for i, st := range b.Steps {
		p := fmt.Sprintf("%s.steps[%d]", path, i)
		if !st.At.Time.IsZero() {
			return fieldErr(p+".at", "history steps take a relative time such as +5s")
		}
		if err := s.checkStep(st, p); err != nil {
			return err
		}
	}
	return nil
}

// checkStep validates one step's operation and references.
func (s *Scenario) checkStep(st Step, path string) error {
	if err := oneOf(st.Op, false, ops...); err != nil {
		return &fieldError{path: path + ".op", err: err}
	}
	if err := s.checkRefs(st, path); err != nil {
		return err
	}
	if err := checkOptions(st, path); err != nil {
		return err
	}
	if x := st.Expect; x != nil {
		if err := oneOf(x.Decision, true, decisions...); err != nil {
			return &fieldError{path: path + ".expect.decision", err: err}
		}
		if x.MaxTTL != nil && *x.MaxTTL < 0 {
			return fieldErr(path+".expect.max_ttl", "must not be negative")
		}
	}
	return nil
}

// checkRefs checks the clients a step names.
func (s *Scenario) checkRefs(st Step, path string) error {
	if st.Op == OpToken && st.Client == "" {
		return fieldErr(path+".client", "is required: a token step opens a session for this client")
	}
	for _, ref := range []struct{ field, id string }{{"client", st.Client}, {"actor", st.Actor}} {
		c, ok := s.Clients[ref.id]
		switch {
		case ref.id == "":
		case !ok:
			return fieldErr(path+"."+ref.field, "%s is not one of the scenario's clients", quoted(ref.id))
		case c.Kind == storage.KindResourceServer:
			return fieldErr(path+"."+ref.field, "%s is a resource_server: it only introspects", quoted(ref.id))
		}
	}
	if st.Op != OpIntrospect {
		return nil
	}
	rs, ok := s.Clients[st.RS]
	switch {
	case st.RS == "":
		return fieldErr(path+".rs", "is required for introspect")
	case !ok || rs.Kind != storage.KindResourceServer:
		return fieldErr(path+".rs", "%s is not a resource_server of the scenario", quoted(st.RS))
	}
	return nil
}

// checkOptions checks the operation-specific fields.
func checkOptions(st Step, path string) error {
	if err := oneOf(st.Subject, true, "latest"); err != nil {
		return &fieldError{path: path + ".subject", err: err}
	}
	if err := oneOf(st.Token, true, "first"); err != nil {
		return &fieldError{path: path + ".token", err: err}
	}
	if st.Op != OpSignal {
		return nil
	}
	if st.Signal == nil {
		return fieldErr(path+".signal", "is required for a signal step")
	}
	if err := oneOf(st.Signal.Type, false, signals...); err != nil {
		return &fieldError{path: path + ".signal.type", err: err}
	}
	if err := oneOf(st.Signal.Level, true, levels...); err != nil {
		return &fieldError{path: path + ".signal.level", err: err}
	}
	return nil
}

// record is the storage registration of a resource.
func (r Resource) record(aud string) storage.Resource {
	return storage.Resource{Audience: aud, Sensitivity: r.Sensitivity, Tenant: r.Tenant, Tactic: r.Tactic}
}

// grants are the grant types every client but a resource server registers.
var grants = []string{"client_credentials", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"}

// record is the storage registration of a client, without credentials.
func (c Client) record(id string) storage.Client {
	rec := storage.Client{ID: id, Kind: c.Kind, Scopes: c.Scopes, Audiences: c.Audiences, Introspect: c.Introspect,
		MayAct: c.MayAct, Networks: c.Networks, DPoP: c.DPoP, TokenFormat: "opaque"}
	if c.Kind != storage.KindResourceServer {
		rec.GrantTypes = grants
	}
	if sc := c.Schedule; sc != nil {
		rec.Schedule = &storage.Schedule{Days: sc.Days, Hours: sc.Hours, TZ: sc.TZ}
	}
	return rec
}

// problem turns the first problem a storage validator reported ("field:
// message") into an error on path.field.
func problem(path string, err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
		err = j.Unwrap()[0]
	}
	name, msg, ok := strings.Cut(err.Error(), ": ")
	if !ok || strings.ContainsAny(name, " \"") {
		return &fieldError{path: path, err: err}
	}
	return &fieldError{path: path + "." + name, err: errors.New(msg)}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
