// Package server assembles Vigil: storage, keys, the risk engine, the token
// endpoint, introspection, revocation, discovery, the admin API, health and
// metrics, into one http.Handler. It is the only package that knows every
// other; cmd/vigil and the conformance suites build the server through it, so
// tests run exactly the server that ships.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/cluster"
	"github.com/vigil-auth/vigil/internal/metrics"
	"github.com/vigil-auth/vigil/internal/register"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/telemetry"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/introspect"
	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/postgres"
)

// Config is the server's configuration.
type Config struct {
	// Issuer is the server's issuer URL; endpoints hang below it.
	Issuer string
	// AdminToken guards /admin/ and the console (credential "admin", role
	// admin); with it and AdminCredentials empty, both are disabled.
	AdminToken string
	// AdminCredentials are further admin credentials, each with a role.
	AdminCredentials admin.Credentials
	// Authz configures the token endpoint; Issuer and RefreshKey are filled in.
	Authz authz.Config
	// Registration is the dynamic client registration policy (RFC 7591);
	// nil turns the registration endpoint off.
	Registration *register.Policy
}

// Deps are the server's collaborators. Store, Keys and Hasher are required.
type Deps struct {
	Store  storage.Store
	Keys   *keys.Manager
	Hasher *secret.Hasher
	// Risk judges sessions; nil means the default policy.
	Risk Risk
	// RefreshKey keys successor refresh tokens (32+ bytes); required.
	RefreshKey []byte
	// HTTPClient fetches jwks_uri documents; nil means a client with a timeout.
	HTTPClient *http.Client
	// PolicyCheck checks a draft risk policy (YAML) for the console; nil
	// means drafts cannot be checked there.
	PolicyCheck func(draft []byte) (string, error)
	// Reload re-applies the configuration file (POST /admin/reload); nil
	// when the server runs without one.
	Reload admin.Reloader
	// Peer serves the cluster's peer endpoint (forwarded risk events);
	// nil when this instance is not a cluster member.
	Peer http.Handler
	// PushGate reports whether this instance pushes a Shared Signals
	// stream now (one instance per stream on a shared store); nil pushes
	// every stream.
	PushGate func(ctx context.Context, stream string) bool
	// Tracing traces requests, storage transactions and risk decisions;
	// nil means off. Close shuts it down.
	Tracing *telemetry.Tracing
	Log     *slog.Logger
	Now     func() time.Time
}

// Risk is the risk engine as the server uses it.
type Risk interface {
	authz.Risk
}

// Server is an assembled Vigil.
type Server struct {
	cfg     Config
	d       Deps
	authz   *authz.Server
	metrics *metrics.Registry
	handler http.Handler
	ready   atomic.Bool
	signals *signals
	// registrationEndpoint is advertised in RFC 8414 metadata; "" when off.
	registrationEndpoint string
	// policy sits between the risk engine and its callers: the report-only
	// switch of the admin API and the console.
	policy *policySwitch
}

// New assembles a server. It validates cfg before building anything.
func New(cfg Config, d Deps) (*Server, error) {
	if err := validate(cfg, d); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Risk == nil {
		r, err := defaultRisk()
		if err != nil {
			return nil, err
		}
		d.Risk = r
	}
	s := &Server{cfg: cfg, d: d, metrics: metrics.New()}
	s.policy = newPolicySwitch(d.Risk, d.PolicyCheck)
	s.policy.rehydrate = newRehydrator(d.Risk, d.Store, d.Log)
	if err := s.build(); err != nil {
		return nil, err
	}
	s.ready.Store(true)
	return s, nil
}

func validate(cfg Config, d Deps) error {
	var errs []error
	if d.Store == nil || d.Keys == nil || d.Hasher == nil {
		errs = append(errs, errors.New("store, keys and hasher are required"))
	}
	if cfg.Issuer == "" {
		errs = append(errs, errors.New("issuer is required"))
	}
	creds := cfg.AdminCredentials
	if cfg.AdminToken != "" {
		creds = append(admin.Credentials{admin.TokenCredential(admin.DefaultAdminName, admin.RoleAdmin, cfg.AdminToken)}, creds...)
	}
	errs = append(errs, creds.Validate())
	return errors.Join(errs...)
}

func (s *Server) build() error {
	acfg := s.cfg.Authz
	acfg.Issuer, acfg.RefreshKey = s.cfg.Issuer, s.d.RefreshKey
	verifier, cache := newVerifier(s.d.HTTPClient, s.d.Log)
	if err := s.buildSignals(); err != nil {
		return err
	}
	az, err := authz.New(acfg, s.tracedStore(), s.d.Keys, verifier, s.d.Hasher, s.tracedRisk(s.signals.judge),
		authz.WithClock(s.d.Now), authz.WithLogger(s.d.Log), authz.WithMetrics(s.metrics), authz.WithDPoP(proofs{}),
		authz.WithNotifier(s.signals.tx))
	if err != nil {
		s.closeSignals()
		return err
	}
	s.authz = az
	s.startSignals(cache)
	if tc, ok := s.d.Store.(metrics.TxCounter); ok {
		s.metrics.WatchStorage(tc)
	}
	if ct, ok := s.d.Store.(metrics.CommitTimer); ok {
		s.metrics.WatchCommitTime(ct)
	}
	s.metrics.WatchKeyAge(s.d.Keys.ActiveKeyCreated, s.d.Now)
	s.watchLiveSessions()
	if pg, ok := s.d.Store.(*postgres.Store); ok {
		s.metrics.WatchFeedLag(pg.Feed().Lag)
	}
	if p, ok := s.d.Peer.(*cluster.Router); ok {
		s.metrics.WatchCluster(func() (int, map[string]int64) {
			st := p.Stats()
			return p.Members(), map[string]int64{"local": st.Local, "forwarded": st.Forwarded, "degraded": st.Degraded, "served": st.Served}
		})
	}
	routes, err := s.routes()
	if err != nil {
		s.closeSignals()
		return err
	}
	if s.registrationEndpoint, err = s.mountRegistration(routes, registrationVerifier{ext: verifier, cache: cache}); err != nil {
		s.closeSignals()
		return err
	}
	s.handler = web.Middleware(routes, s.d.Log, s.metrics, s.d.Now, s.tracer())
	return nil
}

func (s *Server) routes() (*web.Router, error) {
	r := web.NewRouter()
	r.Handle(PathToken, s.authz.TokenHandler(), http.MethodPost)
	r.Handle(PathIntrospect, s.introspection(), http.MethodPost)
	r.Handle(PathRevoke, s.authz.RevocationHandler(), http.MethodPost)
	r.Handle(PathRevalidate, s.authz.RevalidationHandler(), http.MethodPost)
	r.HandleFunc(PathMetadata, s.metadata, http.MethodGet)
	r.HandleFunc(PathAuthorize, s.authorize, http.MethodGet, http.MethodPost)
	r.HandleFunc(PathJWKS, s.jwks, http.MethodGet)
	r.HandleFunc("/health/alive", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }, http.MethodGet)
	r.HandleFunc("/health/ready", s.readiness, http.MethodGet)
	r.Handle("/metrics", s.metrics.Handler(), http.MethodGet)
	s.mountSignals(r)
	if s.d.Peer != nil {
		r.Handle(cluster.PathObserve, s.d.Peer, http.MethodPost)
	}
	if err := s.mountAdmin(r); err != nil {
		return nil, err
	}
	s.mountPoll(r)
	return r, nil
}

func (s *Server) introspection() http.Handler {
	// Unknown tokens are throttled per presenter (RFC 7662 §4).
	return &introspect.Handler{Issuer: s.cfg.Issuer, Auth: s.authz, Store: s.tracedStore(), Scans: s.authz.ScanThrottle(), Risk: s.tracedRisk(s.signals.judge),
		Sessions: s.authz, Signer: s.d.Keys, Policy: livePolicy{s.authz}, TokenID: authz.TokenID, Profile: authz.Profile,
		Metrics: s.metrics, Log: s.d.Log, Now: s.d.Now}
}

// risk is the engine as the handlers see it, behind the report-only
// switch: every decision counted and timed.
func (s *Server) risk() Risk { return measuredRisk{Risk: s.policy, m: s.metrics} }

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Authority returns the token authority, for in-process drivers such as
// the scenario replay.
func (s *Server) Authority() *authz.Server { return s.authz }

// SetReady flips /health/ready; a draining server answers 503 there.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

func (s *Server) readiness(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if _, err := s.d.Store.GetClient(r.Context(), "\x00health"); err != nil && !errors.Is(err, storage.ErrNotFound) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Close stops background work (the Shared Signals push worker), then
// flushes and stops the tracing. It does not close the store, which the
// caller opened.
func (s *Server) Close() error {
	s.closeSignals()
	return s.shutdownTracing()
}

// liveCounter counts the sessions a risk engine holds open by level;
// *risk.Engine and the cluster router implement it.
type liveCounter interface {
	LiveSessions(risk.Level) int
}

// watchLiveSessions exports vigil_risk_live_sessions{level} when the risk
// engine counts its live sessions.
func (s *Server) watchLiveSessions() {
	lc, ok := s.d.Risk.(liveCounter)
	if !ok {
		return
	}
	var levels []string
	for _, l := range risk.Levels() {
		levels = append(levels, string(l))
	}
	s.metrics.WatchLiveSessions(levels, func(l string) int { return lc.LiveSessions(risk.Level(l)) })
}
