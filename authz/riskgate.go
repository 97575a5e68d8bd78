package authz

import (
	"context"
	"net/netip"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// judge asks the risk engine about ev and turns a refusal into the answer the
// client sees: coarse outcomes only, never the reasons.
func (s *Server) judge(ctx context.Context, ev risk.Event) (risk.Decision, error) {
	d := s.observe(ctx, ev)
	if d.ReportOnly {
		return d, nil
	}
	switch d.Action {
	case risk.StepUp:
		return d, revalidationRequired(d.Challenge)
	case risk.Deny:
		if d.Has(risk.ReasonNoRevalidation) {
			return d, oauth.Errorf(oauth.AccessDenied, "request refused: it needs the session revalidated, and the client has no registered key to revalidate with (private_key_jwt)")
		}
		return d, oauth.Errorf(oauth.AccessDenied, "request refused by policy")
	case risk.Terminate:
		return d, oauth.Errorf(oauth.InvalidGrant, "session terminated")
	}
	return d, nil
}

// judgeSession is judge for a call on a session that exists in storage: a
// terminate decision ends the session durably, every token of it revoked,
// before the refusal is answered.
func (s *Server) judgeSession(ctx context.Context, ev risk.Event) (risk.Decision, error) {
	d, err := s.judge(ctx, ev)
	if d.Action != risk.Terminate || d.ReportOnly {
		return d, err
	}
	terr := s.store.Update(ctx, func(w storage.Writer) error {
		return s.terminateIn(ctx, w, ev.SessionID, "risk: "+string(ev.Op), d)
	})
	if terr != nil {
		return d, storeErr(terr)
	}
	return d, err
}

// revalidationRequired is Vigil's step-up answer at the token endpoint: HTTP
// 401 with error "revalidation_required" and a "revalidation" member listing
// the proofs that will do (see README, "Step-up for non-human clients").
func revalidationRequired(ch *risk.Challenge) *oauth.Error {
	methods := []string{AuthPrivateKeyJWT}
	if ch != nil && len(ch.Methods) > 0 {
		methods = ch.Methods
	}
	return &oauth.Error{Code: oauth.RevalidationRequired, Status: 401,
		Description: "the session must be revalidated before this request",
		Header:      map[string][]string{"WWW-Authenticate": {`Basic realm="vigil", error="revalidation_required"`}},
		Extra:       map[string]any{"revalidation": map[string]any{"methods": methods}}}
}

// event starts a risk event for client c on session sid.
func (s *Server) event(ctx context.Context, op risk.Op, sid string, c storage.Client, req *tokenRequest) risk.Event {
	ev := risk.Event{Op: op, At: s.now(), SessionID: sid, ClientID: c.ID, Client: Profile(c)}
	if req != nil {
		ev.IP, ev.Scopes, ev.Tool, ev.Tenant = req.ip, req.scopes, req.tool, req.tenant
		if len(req.targets) > 0 {
			ev.Audience = req.targets[0]
			ev.Resource = s.resourceProfile(ctx, ev.Audience)
		}
	}
	return ev
}

func (s *Server) resourceProfile(ctx context.Context, aud string) risk.ResourceProfile {
	r, err := s.store.GetResource(ctx, aud)
	if err != nil {
		return risk.ResourceProfile{}
	}
	return risk.ResourceProfile{Sensitivity: r.Sensitivity, Tenant: r.Tenant, Tactic: r.Tactic}
}

// Profile is what the risk engine needs of a client's registration.
func Profile(c storage.Client) risk.ClientProfile {
	p := risk.ClientProfile{Kind: c.Kind, Scopes: c.Scopes, Audiences: c.Audiences, Purposes: c.Purposes,
		MayAct: c.MayAct, DPoP: c.DPoP, SecretOnly: len(c.JWKS) == 0 && c.JWKSURI == ""}
	for _, n := range c.Networks {
		if pfx, err := netip.ParsePrefix(n); err == nil {
			p.Networks = append(p.Networks, pfx.Masked())
		}
	}
	if c.Schedule != nil {
		p.Schedule = schedule(*c.Schedule)
	}
	return p
}

// schedule turns a declared schedule into the engine's form; an unparsable
// one yields nil (validation refuses it at registration).
func schedule(sc storage.Schedule) *risk.Schedule {
	w, err := sc.Window()
	if err != nil {
		return nil
	}
	return &risk.Schedule{Days: w.Days, Start: w.Start, End: w.End, Loc: w.Loc}
}

// sessionFacts returns the durable facts a decision established, ready to
// append to the session record.
func sessionFacts(d risk.Decision, at time.Time) []storage.Fact {
	out := make([]storage.Fact, 0, len(d.NewFacts))
	for _, f := range d.NewFacts {
		out = append(out, storage.Fact{Code: f.Code, Points: f.Points, At: at, Detail: f.Evidence})
	}
	return out
}

// timelineEvent records a decision on the session's timeline.
func timelineEvent(sid, typ, clientID, detail string, d risk.Decision, at time.Time) storage.Event {
	e := storage.Event{SessionID: sid, At: at, Type: typ, ClientID: clientID, Detail: detail, Score: d.Score,
		Level: string(d.Level), Action: string(d.Action)}
	for _, r := range d.Reasons {
		e.Reasons = append(e.Reasons, storage.Reason{Code: r.Code, Points: r.Points, Evidence: r.Evidence})
	}
	return e
}
