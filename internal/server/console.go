package server

import (
	"errors"
	"net/url"
	"sync/atomic"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/console"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/risk"
)

// mountAdmin mounts the admin API and, with it, the console: both accept
// the same admin credentials.
func (s *Server) mountAdmin(r *web.Router) error {
	api := admin.New(s.cfg.AdminToken, admin.Deps{Store: s.d.Store, Hasher: s.d.Hasher, Sessions: s.authz,
		Keys: s.d.Keys, Signals: s.signals.rc, Notify: s.signals.tx, Tokens: s.authz, Policy: s.policy, Reload: s.d.Reload, Credentials: s.cfg.AdminCredentials,
		Now: s.d.Now, Log: s.d.Log})
	if len(api.Credentials()) == 0 {
		return nil
	}
	api.Mount(r)
	u, _ := url.Parse(s.cfg.Issuer)
	d := console.Deps{Store: s.d.Store, Admin: api.Internal(), Auth: api.Credentials(), Policy: s.policy,
		Baselines: baselines{s.d.Risk}, Now: s.d.Now, Log: s.d.Log}
	if lc, ok := s.d.Risk.(liveCounter); ok {
		d.Live, d.LivePartial = lc, s.d.Peer != nil
	}
	c, err := console.New(console.Config{Secure: u != nil && u.Scheme == "https"}, d)
	if err != nil {
		return err
	}
	c.Mount(r)
	return nil
}

// policySwitch puts the console's and the admin API's report-only switch
// between the risk engine and its callers: while it is on, every decision
// is advisory; while off, every decision is enforced, whatever the
// configured policy said at start.
type policySwitch struct {
	Risk
	reportOnly atomic.Bool
	check      func([]byte) (string, error)
	rehydrate  *rehydrator // nil: the engine is not a *risk.Engine
}

func newPolicySwitch(r Risk, check func([]byte) (string, error)) *policySwitch {
	p := &policySwitch{Risk: r, check: check}
	p.reportOnly.Store(p.configured().ReportOnly)
	return p
}

// Observe judges ev and marks the decision advisory or enforced.
// A session's durable state is loaded on its first event; a session whose
// state cannot be read is denied, whatever the mode.
func (p *policySwitch) Observe(ev risk.Event) risk.Decision {
	if d, ok := p.rehydrate.ensure(ev); !ok {
		return d
	}
	d := p.Risk.Observe(ev)
	d.ReportOnly = p.reportOnly.Load() && !stateUnavailable(d) // a cluster owner may have denied so
	return d
}

// stateUnavailable reports whether d denies because the session's durable
// state could not be read (the [unavailable] decision).
func stateUnavailable(d risk.Decision) bool {
	return len(d.Reasons) == 1 && d.Reasons[0].Code == risk.ReasonStateUnavailable
}

func (p *policySwitch) configured() risk.Policy {
	if pp, ok := p.Risk.(interface{ Policy() risk.Policy }); ok {
		return pp.Policy()
	}
	return risk.DefaultPolicy()
}

// Policy returns the policy in force, with the current mode.
func (p *policySwitch) Policy() risk.Policy {
	pol := p.configured()
	pol.ReportOnly = p.reportOnly.Load()
	return pol
}

// ReportOnly reports whether decisions are advisory now.
func (p *policySwitch) ReportOnly() bool { return p.reportOnly.Load() }

// SetReportOnly switches decisions to advisory or enforced.
func (p *policySwitch) SetReportOnly(on bool) { p.reportOnly.Store(on) }

// Check validates a draft policy with the checker the server was given.
func (p *policySwitch) Check(draft []byte) (string, error) {
	if p.check == nil {
		return "", errors.New("this server has no policy checker")
	}
	return p.check(draft)
}

// baselines reads one client's learned baseline from an engine that can
// snapshot its state.
type baselines struct{ r Risk }

func (b baselines) Baseline(clientID string) (risk.Baseline, bool) {
	sn, ok := b.r.(interface{ Snapshot() risk.Snapshot })
	if !ok {
		return risk.Baseline{}, false
	}
	for _, c := range sn.Snapshot().Clients {
		if c.ClientID == clientID {
			return c.Baseline, true
		}
	}
	return risk.Baseline{}, false
}
