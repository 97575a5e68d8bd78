package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/cluster"
	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/internal/telemetry"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/risk/rules"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/postgres"
)

// HTTP server limits (slowloris, oversized headers).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = limits.HeaderBytes
	// ShutdownTimeout bounds how long in-flight requests may drain.
	ShutdownTimeout = 15 * time.Second
	// maintenanceEvery is how often keys are rotated when due, the risk
	// journal saved and expired records removed.
	maintenanceEvery = 5 * time.Minute
)

// Option adjusts how [Open] and [OpenState] build an instance.
type Option func(*openOptions)

type openOptions struct {
	log        *slog.Logger
	now        func() time.Time
	getenv     func(string) string
	file       *config.File
	filePath   string
	risk       Risk
	store      storage.Store
	httpClient *http.Client
	policy     func(draft []byte) (string, error)
	reload     Loader
	init       bool
	tracing    *telemetry.Tracing
	tracingSet bool // WithTracing was given
}

func options(opts []Option) openOptions {
	o := openOptions{log: slog.New(slog.DiscardHandler), now: time.Now, getenv: os.Getenv}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(o *openOptions) { o.log = l } }

// WithClock sets the clock; the default is time.Now.
func WithClock(now func() time.Time) Option { return func(o *openOptions) { o.now = now } }

// WithGetenv sets where VIGIL_SECRET and VIGIL_ADMIN_TOKEN are read; the
// default is os.Getenv.
func WithGetenv(getenv func(string) string) Option { return func(o *openOptions) { o.getenv = getenv } }

// WithConfigFile applies f's clients, resources and trusted issuers to the
// store on open; path is where f was read (for the permission warning).
func WithConfigFile(f *config.File, path string) Option {
	return func(o *openOptions) { o.file, o.filePath = f, path }
}

// WithRisk uses r instead of the engine built from the settings' policy.
// The risk journal is kept only when r is a *risk.Engine.
func WithRisk(r Risk) Option { return func(o *openOptions) { o.risk = r } }

// WithStore runs the instance on store instead of opening one from the
// settings. The caller keeps ownership: Close leaves store open.
func WithStore(store storage.Store) Option { return func(o *openOptions) { o.store = store } }

// WithHTTPClient sets the client that fetches jwks_uri documents.
func WithHTTPClient(c *http.Client) Option { return func(o *openOptions) { o.httpClient = c } }

// WithPolicyCheck sets how the console checks a draft risk policy.
func WithPolicyCheck(check func(draft []byte) (string, error)) Option {
	return func(o *openOptions) { o.policy = check }
}

// Instance is one running Vigil: its state, risk engine and server, and the
// background maintenance that keeps them. Build it with [Open]; Close it.
type Instance struct {
	*State
	*Server
	risk    Risk
	id      string       // this process among the instances of a cluster
	journal *riskJournal // nil unless risk is a *risk.Engine
	log     *slog.Logger
	now     func() time.Time
	stop    context.CancelFunc
	done    <-chan struct{} // closed when Close begins
	wg      sync.WaitGroup
	// ring and router make this instance a cluster member (PostgreSQL);
	// nil otherwise.
	ring   *cluster.Ring
	router *cluster.Router
	// reloader serves reloads; nil without WithReload.
	reloader *reloader
}

// Open opens everything an instance runs on, in order: the risk engine from
// s.Policy, the state (store, keys, admin credential), the configuration
// file's records, the risk journal and the sessions' sticky facts, then the
// server and its maintenance loop. s.Issuer must be set. On error nothing
// stays open.
func Open(ctx context.Context, s config.Settings, opts ...Option) (*Instance, error) {
	o := options(opts)
	rsk := o.risk
	if rsk == nil {
		eng, err := RiskFromSettings(s)
		if err != nil {
			return nil, err
		}
		rsk = eng
	}
	var err error
	if o.tracing, err = openTracing(ctx, o); err != nil {
		return nil, err
	}
	st, err := OpenState(ctx, s, opts...)
	if err != nil {
		return nil, errors.Join(err, o.tracing.Shutdown(ctx))
	}
	in := &Instance{State: st, risk: rsk, log: o.tracing.Logger(o.log), now: o.now, id: instanceID()}
	if err := in.start(ctx, s, o); err != nil {
		return nil, errors.Join(err, st.Close(), o.tracing.Shutdown(ctx))
	}
	return in, nil
}

func (in *Instance) start(ctx context.Context, s config.Settings, o openOptions) error {
	var applied config.Result
	if o.file != nil {
		res, err := applyFile(ctx, o.file, in.State, o, o.filePath, s.Listen)
		if err != nil {
			return err
		}
		applied = res
	}
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	in.stop, in.done = cancel, mctx.Done()
	pg, _ := in.store.(*postgres.Store)
	if eng, ok := in.risk.(*risk.Engine); ok {
		in.journal = newRiskJournal(eng, s.Data)
		if pg != nil {
			in.journal.shared, in.journal.clients = pg, pg
		}
		if err := in.journal.restore(ctx, in.log); err != nil {
			return err
		}
	}
	if pg != nil {
		if err := in.joinCluster(ctx, pg, s); err != nil {
			return err
		}
	}
	cfg := serverConfig(s, in.adminToken)
	if in.adminDigest != "" {
		c, err := admin.DigestCredential(admin.DefaultAdminName, admin.RoleAdmin, in.adminDigest)
		if err != nil {
			return err
		}
		cfg.AdminCredentials = append(cfg.AdminCredentials, c)
	}
	if o.file != nil {
		creds, err := adminCredentials(o.file)
		if err != nil {
			return err
		}
		cfg.AdminCredentials = append(cfg.AdminCredentials, creds...)
	}
	d := Deps{Store: in.store, Keys: in.keys, Hasher: in.hasher, Risk: in.judge(), Peer: in.peer(),
		RefreshKey: in.refreshKey, HTTPClient: o.httpClient, PolicyCheck: o.policy, Tracing: o.tracing, Log: in.log, Now: in.now}
	d.PushGate = in.pushGate()
	if o.reload != nil {
		in.reloader = &reloader{load: o.reload, running: s, in: in}
		d.Reload = in.reloader
	}
	srv, err := New(cfg, d)
	if err != nil {
		return err
	}
	in.Server = srv
	if _, err := in.endClientSessions(ctx, applied.Disabled); err != nil {
		return errors.Join(err, srv.Close())
	}
	if pg != nil {
		in.follow(pg)
	}
	in.runCluster(mctx)
	in.wg.Go(func() { in.maintain(mctx) })
	if in.file != nil {
		in.wg.Go(func() { every(mctx, generationEvery, func(context.Context) { in.markGeneration(in.log) }) })
	}
	return nil
}

func serverConfig(s config.Settings, adminToken string) Config {
	if s.MaxChainDepth == 0 {
		s.MaxChainDepth = -1 // max_chain_depth: 0 allows no delegation at all
	}
	return Config{Issuer: s.Issuer, AdminToken: adminToken, Authz: authz.Config{
		AccessTokenTTL: s.AccessTokenTTL, RefreshTokenTTL: s.RefreshTokenTTL, ExchangeTTL: s.ExchangeTTL,
		RefreshGrace: s.RefreshGrace, MaxChainDepth: s.MaxChainDepth, DPoPNonce: s.DPoPNonce,
	}, Registration: s.Registration}
}

// adminCredentials returns the file's admin credentials.
func adminCredentials(f *config.File) (admin.Credentials, error) {
	var creds admin.Credentials
	var errs []error
	for _, a := range f.Admins {
		c, err := admin.DigestCredential(a.Name, admin.Role(a.Role), a.TokenSHA256)
		errs = append(errs, err)
		creds = append(creds, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("admins: %w", err)
	}
	return creds, nil
}

func applyFile(ctx context.Context, f *config.File, st *State, o openOptions, path, listen string) (config.Result, error) {
	warnIfReadable(path, f, listen, o.log)
	res, err := f.Reconcile(ctx, st.store, st.hasher, o.now())
	if err != nil {
		return res, err
	}
	o.log.Info("configuration applied", "clients", len(f.Clients), "resources", len(f.Resources),
		"trusted_issuers", len(f.TrustedIssuers), "changed", res.Changed, "disabled_clients", res.Disabled, "removed", res.Removed)
	return res, nil
}

// Risk returns the instance's risk engine.
func (in *Instance) Risk() Risk { return in.risk }

// Close stops maintenance, saves the risk journal and closes the store.
func (in *Instance) Close() error {
	in.stop()
	in.wg.Wait()
	if in.journal != nil {
		in.journal.save(in.now(), in.owns, in.log)
	}
	return errors.Join(in.Server.Close(), in.State.Close())
}

// maintain rotates the signing key when it is due, saves the risk journal
// and removes expired records, every maintenanceEvery, until ctx is done.
func (in *Instance) maintain(ctx context.Context) {
	every(ctx, maintenanceEvery, in.maintenancePass)
}

// every calls fn each period until ctx is done.
func every(ctx context.Context, period time.Duration, fn func(context.Context)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

func (in *Instance) maintenancePass(ctx context.Context) {
	if rotated, err := in.keys.RotateIfDue(ctx); err != nil {
		in.log.Error("key rotation failed", "err", err)
	} else if rotated {
		in.log.Info("signing key rotated", "kid", in.keys.ActiveKeyID())
	}
	if in.journal != nil {
		in.journal.save(in.now(), in.owns, in.log)
	}
	if !in.leased(ctx, leaseExpired) {
		return
	}
	if n, err := in.store.DeleteExpired(ctx, in.now()); err != nil {
		in.log.Error("removing expired records failed", "err", err)
	} else if n > 0 {
		in.log.Debug("expired records removed", "count", n)
	}
}

// Serve serves on ln until ctx is done, then shuts down gracefully:
// readiness goes to 503, the listener stays open for drain (so a load
// balancer can notice), then in-flight requests get ShutdownTimeout. A clean
// shutdown returns nil. Serve does not Close the instance.
func (in *Instance) Serve(ctx context.Context, ln net.Listener, drain time.Duration) error {
	hs := &http.Server{
		Handler: in.Handler(), ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog: slog.NewLogLogger(in.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	in.log.Info("listening", "addr", ln.Addr().String(), "issuer", in.cfg.Issuer)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	in.log.Info("shutting down", "drain", drain)
	in.SetReady(false)
	if drain > 0 {
		t := time.NewTimer(drain)
		<-t.C
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	in.log.Info("stopped")
	return nil
}

// RiskFromSettings builds the risk engine from the settings' policy, or the
// default policy when there is none.
func RiskFromSettings(s config.Settings) (*risk.Engine, error) {
	p := risk.DefaultPolicy()
	if s.Policy != nil {
		if err := config.Decode(s.Policy, &p); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
	}
	eng, _, err := NewRiskEngine(p)
	return eng, err
}

// NewRiskEngine validates p, compiles its rules and returns the engine and
// the number of rules.
func NewRiskEngine(p risk.Policy) (*risk.Engine, int, error) {
	var opts []risk.Option
	if len(p.Rules) > 0 {
		set, err := rules.Compile(p.Rules)
		if err != nil {
			return nil, 0, fmt.Errorf("policy: %w", err)
		}
		opts = append(opts, risk.WithRules(set))
	}
	eng, err := risk.New(p, opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("policy: %w", err)
	}
	return eng, len(p.Rules), nil
}
