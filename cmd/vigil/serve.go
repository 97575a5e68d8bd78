package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/web"
)

// serveOptions are serve's flags; empty means "not given".
type serveOptions struct {
	listen, data, store, issuer, config, logLevel, clusterURL string
	drain                                                     time.Duration
	init                                                      bool
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
	fs.StringVar(&o.store, "store", "", "database: bolt (default) or a postgres:// URL shared by several instances (env VIGIL_STORE)")
	fs.StringVar(&o.clusterURL, "cluster-url", "", "with a postgres:// store: URL where the other instances reach this one, or off (env VIGIL_CLUSTER_URL; default http://<listen>)")
	fs.StringVar(&o.issuer, "issuer", "", "issuer URL (env VIGIL_ISSUER; default http://<listen>)")
	fs.StringVar(&o.config, "config", "", "YAML configuration file (env VIGIL_CONFIG)")
	fs.StringVar(&o.logLevel, "log-level", "", "log level: debug, info, warn or error (env VIGIL_LOG_LEVEL; default info)")
	fs.BoolVar(&o.init, "init", false, "start a new, empty database even where the data directory says one existed (its database was moved or lost)")
	fs.DurationVar(&o.drain, "drain", 0, "on SIGTERM, report not-ready for this long before closing the listener (e.g. 5s behind a load balancer)")
}

// flags returns the settings given as flags, by key.
func (o serveOptions) flags() map[string]string {
	m := map[string]string{}
	for key, v := range map[string]string{"listen": o.listen, "data": o.data, "store": o.store, "issuer": o.issuer, "log_level": o.logLevel, "cluster_url": o.clusterURL} {
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
// drains in-flight requests and closes the instance. A clean shutdown
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
	log := newLogger(e, s.LogLevel)
	// Listen first: a taken port must not leave a data directory and keys
	// behind.
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Listen, err)
	}
	defaultsFromListener(&s, ln.Addr().String())
	warnPlainHTTP(s.Issuer, log)
	opts := []server.Option{server.WithLogger(log), server.WithGetenv(e.getenv), server.WithPolicyCheck(checkPolicyDraft)}
	if o.init {
		opts = append(opts, server.WithInit())
	}
	if file != nil {
		opts = append(opts, server.WithConfigFile(file, firstSet(o.config, e.getenv("VIGIL_CONFIG"))),
			server.WithReload(func() (*config.File, config.Settings, error) {
				f, s, err := resolveSettings(o, e.getenv)
				defaultsFromListener(&s, ln.Addr().String()) // as at start
				return f, s, err
			}))
	}
	in, err := server.Open(ctx, s, opts...)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		if err := in.Close(); err != nil {
			log.Error("closing failed", "err", err)
		}
	}()
	defer in.ReloadOnSIGHUP(ctx)()
	return in.Serve(ctx, ln, o.drain)
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

// defaultsFromListener fills in the settings that default to the address
// the server listens on: the issuer and the URL the other instances of a
// cluster reach it at.
func defaultsFromListener(s *config.Settings, addr string) {
	if s.Issuer == "" {
		s.Issuer = config.DefaultIssuer(addr)
	}
	if s.ClusterURL == "" {
		host, _ := os.Hostname()
		s.ClusterURL = s.ClusterAddress(addr, host)
	}
}
