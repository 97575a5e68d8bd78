package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/risk"
)

// HTTP server limits (SECURITY.md §4.9: slowloris, oversized headers).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = limits.HeaderBytes
	// shutdownTimeout bounds how long in-flight requests may drain.
	shutdownTimeout = 15 * time.Second
	// maintenanceEvery is how often keys are rotated when due and expired
	// records removed.
	maintenanceEvery = 5 * time.Minute
)

// serveOptions are serve's flags; empty means "not given".
type serveOptions struct {
	listen, data, issuer, config, logLevel string
	drain                                  time.Duration
}

func parseServe(args []string, e *cli) (serveOptions, error) {
	var o serveOptions
	fs := e.newFlagSet("serve", "serve [flags]")
	addServeFlags(fs, &o)
	pos, err := parse(fs, args)
	if err == nil && len(pos) > 0 {
		err = wantArgs(fs, pos, 0)
	}
	return o, err
}

// addServeFlags defines serve's flags on fs (`vigil config show` takes
// them too).
func addServeFlags(fs *flag.FlagSet, o *serveOptions) {
	fs.StringVar(&o.listen, "listen", "", "listen address host:port (env VIGIL_LISTEN; default "+config.DefaultListen+")")
	fs.StringVar(&o.data, "data", "", "data directory (env VIGIL_DATA; default "+config.DefaultData+")")
	fs.StringVar(&o.issuer, "issuer", "", "issuer URL (env VIGIL_ISSUER; default http://<listen>)")
	fs.StringVar(&o.config, "config", "", "YAML configuration file (env VIGIL_CONFIG)")
	fs.StringVar(&o.logLevel, "log-level", "", "log level: debug, info, warn or error (env VIGIL_LOG_LEVEL; default info)")
	fs.DurationVar(&o.drain, "drain", 0, "on SIGTERM, report not-ready for this long before closing the listener (e.g. 5s behind a load balancer)")
}

// flags returns the settings given as flags, by key.
func (o serveOptions) flags() map[string]string {
	m := map[string]string{}
	for key, v := range map[string]string{"listen": o.listen, "data": o.data, "issuer": o.issuer, "log_level": o.logLevel} {
		if v != "" {
			m[key] = v
		}
	}
	return m
}

// resolveSettings merges, lowest first: defaults, the configuration file,
// VIGIL_* environment variables, flags. It returns the file (nil if none)
// so its records can be applied.
func resolveSettings(o serveOptions, getenv func(string) string) (*config.File, config.Settings, error) {
	f, s, _, err := resolveWithOrigins(o, getenv)
	return f, s, err
}

// resolveWithOrigins is resolveSettings that also says where each setting
// came from.
func resolveWithOrigins(o serveOptions, getenv func(string) string) (*config.File, config.Settings, map[string]config.Origin, error) {
	var file *config.File
	if path := firstSet(o.config, getenv("VIGIL_CONFIG")); path != "" {
		f, err := config.Load(path)
		if err == nil {
			err = f.Validate()
		}
		if err != nil {
			return nil, config.Defaults(), nil, err
		}
		file = f
	}
	s, origins, err := config.Resolve(file, getenv, o.flags())
	if err != nil {
		return nil, s, origins, err
	}
	return file, s, origins, nil
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func newLogger(e *cli, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo // Settings.Validate has refused anything else
	}
	return slog.New(web.LogHandler{Handler: slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: l})})
}

// serve runs the server until ctx is cancelled (SIGTERM or SIGINT), then
// drains in-flight requests and closes the store. A clean shutdown
// returns nil.
func serve(ctx context.Context, args []string, e *cli) error {
	o, err := parseServe(args, e)
	if err != nil {
		return err
	}
	file, s, err := resolveSettings(o, e.getenv)
	if err != nil {
		return err
	}
	rsk, err := riskFromPolicy(s)
	if err != nil {
		return err
	}
	log := newLogger(e, s.LogLevel)
	// Listen first: a taken port must not leave a data directory and keys
	// behind.
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Listen, err)
	}
	served := false
	defer func() {
		if !served {
			ln.Close()
		}
	}()
	st, err := openState(ctx, s, e.getenv, log, time.Now)
	if err != nil {
		return err
	}
	defer st.close(log)
	if err := applyFile(ctx, file, st, log, firstSet(o.config, e.getenv("VIGIL_CONFIG")), s.Listen); err != nil {
		return err
	}
	journal := newRiskJournal(rsk, s.Data)
	if err := journal.restore(ctx, st.store, log); err != nil {
		return err
	}
	defer journal.save(time.Now(), log)
	st.journal = journal
	if s.Issuer == "" {
		s.Issuer = config.DefaultIssuer(ln.Addr().String())
	}
	warnPlainHTTP(s.Issuer, log)
	creds, err := adminCredentials(file)
	if err != nil {
		ln.Close()
		return err
	}
	srv, err := newServer(s, st, rsk, creds, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	stop := st.maintain(ctx, log)
	defer stop()
	served = true
	return runHTTP(ctx, ln, srv, s.Issuer, o.drain, log)
}

func applyFile(ctx context.Context, f *config.File, st *state, log *slog.Logger, path, listen string) error {
	if f == nil {
		return nil
	}
	warnIfReadable(path, f, listen, log)
	n, err := f.Apply(ctx, st.store, st.hasher, time.Now())
	if err != nil {
		return err
	}
	log.Info("configuration applied", "clients", len(f.Clients), "resources", len(f.Resources),
		"trusted_issuers", len(f.TrustedIssuers), "changed", n)
	return nil
}

// adminCredentials returns the file's admin credentials.
func adminCredentials(f *config.File) (admin.Credentials, error) {
	if f == nil {
		return nil, nil
	}
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

func newServer(s config.Settings, st *state, rsk *risk.Engine, creds admin.Credentials, log *slog.Logger) (*server.Server, error) {
	if s.MaxChainDepth == 0 {
		s.MaxChainDepth = -1 // max_chain_depth: 0 allows no delegation at all
	}
	cfg := server.Config{Issuer: s.Issuer, AdminToken: st.adminToken, AdminCredentials: creds, Authz: authz.Config{
		AccessTokenTTL: s.AccessTokenTTL, RefreshTokenTTL: s.RefreshTokenTTL, ExchangeTTL: s.ExchangeTTL,
		RefreshGrace: s.RefreshGrace, MaxChainDepth: s.MaxChainDepth, DPoPNonce: s.DPoPNonce,
	}, Registration: s.Registration}
	return server.New(cfg, server.Deps{Store: st.store, Keys: st.keys, Hasher: st.hasher, Risk: rsk,
		RefreshKey: st.refreshKey, PolicyCheck: checkPolicyDraft, Log: log, Now: time.Now})
}

// runHTTP serves on ln until ctx is done, then shuts down gracefully:
// readiness goes to 503, the listener stays open for drain (so a load
// balancer can notice), then in-flight requests get shutdownTimeout.
func runHTTP(ctx context.Context, ln net.Listener, srv *server.Server, issuer string, drain time.Duration, log *slog.Logger) error {
	hs := &http.Server{
		Handler: srv.Handler(), ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "issuer", issuer)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "drain", drain)
	srv.SetReady(false)
	if drain > 0 {
		t := time.NewTimer(drain)
		<-t.C
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// maintain rotates the signing key when it is due and removes expired
// records, every maintenanceEvery, until ctx is done or the returned stop
// is called; stop waits for a running pass to finish.
func (st *state) maintain(ctx context.Context, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(maintenanceEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				st.maintenancePass(ctx, log)
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

func (st *state) maintenancePass(ctx context.Context, log *slog.Logger) {
	if rotated, err := st.keys.RotateIfDue(ctx); err != nil {
		log.Error("key rotation failed", "err", err)
	} else if rotated {
		log.Info("signing key rotated", "kid", st.keys.ActiveKeyID())
	}
	if st.journal != nil {
		st.journal.save(time.Now(), log)
	}
	if n, err := st.store.DeleteExpired(ctx, time.Now()); err != nil {
		log.Error("removing expired records failed", "err", err)
	} else if n > 0 {
		log.Debug("expired records removed", "count", n)
	}
}

// warnPlainHTTP warns when the issuer is plain http on a host other than
// loopback: credentials and tokens would cross the network in clear
// (RFC 6749 §3.2, RFC 9700 §2.6). TLS is expected to end in front of Vigil.
func warnPlainHTTP(issuer string, log *slog.Logger) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "http" {
		return
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return
	}
	log.Warn("issuer is plain http on a non-loopback host; terminate TLS in front of Vigil and use an https issuer", "issuer", issuer)
}
