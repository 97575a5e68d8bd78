package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/loadgen"
	"github.com/vigil-auth/vigil/internal/loadgen/ceiling"
	"github.com/vigil-auth/vigil/internal/server"
)

// benchScenarios are the scenarios in the order a default run measures them.
var benchScenarios = []string{"ceiling", "introspect", "client_credentials", "exchange", "agent"}

// benchOptions are bench's flags.
type benchOptions struct {
	addr, token, data, ceilingURL, out string
	startFile                          string
	mix, audience, scope               string
	agents, rs, scenarios              listValue
	spawn, reportOnly, json, insecure  bool
	keep                               bool
	load                               loadgen.Load
	clients, sessions, tokens          int
	calls, checks, procs               int
	// serverPID and ceilingPID are set for spawned servers.
	serverPID, ceilingPID int
}

func parseBench(args []string, e *cli) (benchOptions, error) {
	o := benchOptions{}
	fs := e.newFlagSet("bench", "bench [flags]   |   vigil bench ceiling [--listen ADDR]")
	fs.StringVar(&o.addr, "addr", "", "server to drive (env VIGIL_ADDR); with --spawn, a fresh one is started instead")
	fs.BoolVar(&o.spawn, "spawn", false, "start a fresh `vigil serve` (temporary data directory) and a ceiling server, drive them, stop them")
	fs.BoolVar(&o.reportOnly, "report-only", false, "with --spawn: run the server under a report-only risk policy")
	fs.StringVar(&o.token, "token", "", "admin token, to register the bench's own clients (env VIGIL_ADMIN_TOKEN; default: DATA/admin-token)")
	fs.StringVar(&o.data, "data", "", "data directory holding admin-token (env VIGIL_DATA)")
	fs.Var(&o.agents, "agent", "use this agent instead of registering clients: id:secret (repeatable)")
	fs.Var(&o.rs, "rs", "with --agent: a resource server that introspects, id:secret (repeatable)")
	fs.StringVar(&o.audience, "audience", "", "with --agent: the audience to exchange for")
	fs.StringVar(&o.scope, "scope", "", "with --agent: the scope to exchange for")
	fs.StringVar(&o.ceilingURL, "ceiling", "", "ceiling server to measure in the same run (see `vigil bench ceiling`)")
	fs.Var(&o.scenarios, "scenarios", "scenarios to run (default "+strings.Join(benchScenarios, ",")+")")
	fs.IntVar(&o.load.Connections, "connections", 32, "concurrent keep-alive connections")
	fs.Float64Var(&o.load.Rate, "rate", 0, "hold this many requests per second in total (open loop); 0 = fixed concurrency")
	fs.DurationVar(&o.load.Duration, "duration", 15*time.Second, "measured time per scenario")
	fs.DurationVar(&o.load.Warmup, "warmup", 2*time.Second, "unmeasured time before each scenario's measurement")
	fs.IntVar(&o.clients, "clients", 16, "agent clients and resource servers to register and spread load over")
	fs.IntVar(&o.sessions, "sessions", 20000, "exchange: sessions to spread exchanges over")
	fs.IntVar(&o.tokens, "tokens", 2000, "introspect: distinct tokens in the pool")
	fs.StringVar(&o.mix, "mix", loadgen.DefaultMix.String(), "introspect: token mix")
	fs.IntVar(&o.calls, "calls", 8, "agent: exchanges per session")
	fs.IntVar(&o.checks, "checks", 3, "agent: introspections per exchanged token")
	fs.IntVar(&o.procs, "procs", 0, "cores the load generator itself uses (GOMAXPROCS; 0: all)")
	fs.StringVar(&o.out, "out", "", "also write the report to OUT.txt and OUT.json")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.BoolVar(&o.insecure, "insecure", false, "skip TLS certificate verification")
	fs.StringVar(&o.startFile, "start-file", "", "after preparing each scenario, wait until this file exists before starting it "+
		"(several benches against several servers then measure at the same time)")
	fs.BoolVar(&o.keep, "keep", false, "leave the bench's own clients registered when done, for a server that is thrown away "+
		"(removing them ends every session the run opened, one at a time)")
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err == nil {
		err = o.check(fs.Output())
	}
	return o, err
}

func (o *benchOptions) check(out io.Writer) error {
	if len(o.scenarios) == 0 {
		o.scenarios = benchScenarios
	}
	var errs []error
	for _, s := range o.scenarios {
		if !contains(benchScenarios, s) {
			errs = append(errs, fmt.Errorf("unknown scenario %q", s))
		}
	}
	if len(o.agents) > 0 && len(o.rs) == 0 {
		errs = append(errs, errors.New("--agent needs --rs"))
	}
	if o.reportOnly && !o.spawn {
		errs = append(errs, errors.New("--report-only needs --spawn (set report_only in the server's own policy otherwise)"))
	}
	errs = append(errs, o.load.Validate())
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(out, "vigil bench:", err)
		return errUsage
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// bench runs the load suite (or, as "bench ceiling", serves the ceiling).
func bench(ctx context.Context, args []string, e *cli) error {
	if len(args) > 0 && args[0] == "ceiling" {
		return benchCeiling(ctx, args[1:], e)
	}
	if len(args) > 0 && args[0] == "scale" {
		return benchScale(ctx, args[1:], e)
	}
	o, err := parseBench(args, e)
	if err != nil {
		return err
	}
	if o.spawn {
		stop, err := o.spawnServers(ctx, e)
		if err != nil {
			return err
		}
		defer stop()
	}
	return o.run(ctx, e)
}

func (o *benchOptions) run(ctx context.Context, e *cli) error {
	if o.procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.procs))
	}
	addr := e.serverAddr(o.addr)
	target, err := loadgen.NewTarget(addr, o.insecure)
	if err != nil {
		return err
	}
	env, cleanup, err := o.env(ctx, target, e)
	if err != nil {
		return err
	}
	defer cleanup()
	suite, err := o.suite(target, env, e)
	if err != nil {
		return err
	}
	return o.write(suite.Run(ctx), e)
}

// env finds the endpoints and the clients to act as: given ones, or the
// bench's own, registered through the admin API.
func (o *benchOptions) env(ctx context.Context, t *loadgen.Target, e *cli) (*loadgen.Env, func(), error) {
	ep, err := loadgen.Discover(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	if len(o.agents) > 0 {
		env, err := o.givenEnv(t, ep)
		return env, func() {}, err
	}
	tok, err := o.adminToken(e)
	if err != nil {
		return nil, nil, err
	}
	p, err := loadgen.Provision(ctx, t, tok, o.clients, ep)
	if err != nil {
		return nil, nil, errors.Join(err, cleanupProvisioned(p))
	}
	if o.spawn || o.keep { // the server and its data are thrown away
		return p.Env, func() {}, nil
	}
	return p.Env, func() {
		if err := cleanupProvisioned(p); err != nil {
			fmt.Fprintln(e.stderr, "vigil bench: removing the bench clients:", err)
		}
	}, nil
}

func cleanupProvisioned(p *loadgen.Provisioned) error {
	if p == nil {
		return nil
	}
	// Deleting a client ends each of its sessions: many, after a run.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	return p.Cleanup(ctx)
}

func (o *benchOptions) givenEnv(t *loadgen.Target, ep loadgen.Endpoints) (*loadgen.Env, error) {
	env := &loadgen.Env{Target: t, TokenPath: ep.Token, IntrospectPath: ep.Introspect, RevokePath: ep.Revoke,
		Audience: o.audience, Scope: o.scope}
	var errs []error
	for _, a := range o.agents {
		c, err := loadgen.ParseCred(a)
		errs = append(errs, err)
		env.Agents = append(env.Agents, c)
	}
	for _, r := range o.rs {
		c, err := loadgen.ParseCred(r)
		errs = append(errs, err)
		env.RS = append(env.RS, c)
	}
	errs = append(errs, env.Validate())
	return env, errors.Join(errs...)
}

func (o *benchOptions) adminToken(e *cli) (string, error) {
	if tok := firstSet(o.token, e.getenv("VIGIL_ADMIN_TOKEN")); tok != "" {
		return tok, nil
	}
	dir := firstSet(o.data, e.getenv("VIGIL_DATA"))
	if dir == "" {
		return "", errors.New("to register its clients the bench needs the admin token: pass --token or --data, or give --agent and --rs")
	}
	return server.ReadSecretFile(filepath.Join(dir, server.AdminTokenFile))
}

// suite assembles the scenarios asked for.
func (o *benchOptions) suite(t *loadgen.Target, env *loadgen.Env, e *cli) (*loadgen.Suite, error) {
	probe := loadgen.Probes{loadgen.MetricsProbe{URL: t.URL("/metrics")}}
	if o.serverPID != 0 {
		probe = append(loadgen.Probes{loadgen.ProcProbe{PID: o.serverPID}}, probe...)
	}
	s := &loadgen.Suite{Load: o.load, Progress: e.stderr, Info: loadgen.Info{Target: t.URL(""), Risk: o.riskNote()}}
	for _, name := range o.scenarios {
		entry, err := o.entry(name, t, env, probe)
		if err != nil {
			return nil, err
		}
		if entry.Scenario != nil {
			s.Entries = append(s.Entries, entry)
		}
	}
	s.Info.Ceiling = o.ceilingURL
	if o.startFile != "" {
		s.Ready = func(ctx context.Context, _ string) error { return waitForFile(ctx, o.startFile) }
	}
	return s, nil
}

// waitForFile returns once path exists, or with ctx's error.
func waitForFile(ctx context.Context, path string) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (o *benchOptions) entry(name string, t *loadgen.Target, env *loadgen.Env, probe loadgen.Probe) (loadgen.Entry, error) {
	en := loadgen.Entry{Target: t, Probe: probe}
	switch name {
	case "ceiling":
		if o.ceilingURL == "" {
			return loadgen.Entry{}, nil
		}
		ct, err := loadgen.NewTarget(o.ceilingURL, o.insecure)
		if err != nil {
			return en, err
		}
		en = loadgen.Entry{Scenario: &loadgen.CeilingScenario{Target: ct, Path: "/introspect", RS: env.RS[0]}, Target: ct}
		if o.ceilingPID != 0 {
			en.Probe = loadgen.ProcProbe{PID: o.ceilingPID}
		}
		return en, nil
	case "introspect":
		mix, err := loadgen.ParseMix(o.mix)
		en.Scenario = &loadgen.IntrospectScenario{Env: env, Mix: mix, Tokens: o.tokens}
		return en, err
	case "client_credentials":
		en.Scenario = &loadgen.TokenScenario{Env: env}
	case "exchange":
		en.Scenario = &loadgen.ExchangeScenario{Env: env, Sessions: o.sessions}
	case "agent":
		en.Scenario = &loadgen.AgentScenario{Env: env, Calls: o.calls, Checks: o.checks}
	}
	return en, nil
}

func (o *benchOptions) riskNote() string {
	switch {
	case o.reportOnly:
		return "report-only risk policy: every request is judged and recorded, decisions are advisory"
	case o.spawn:
		return "default (enforcing) risk policy; load spread over many sessions and clients, as a fleet of agents would spread it; risk actions are counted in the answers"
	}
	return "the server's own risk policy; load spread over many sessions and clients, as a fleet of agents would spread it"
}

func (o *benchOptions) write(rep *loadgen.Report, e *cli) error {
	if o.out != "" {
		if err := writeReport(o.out+".txt", rep.WriteText); err != nil {
			return err
		}
		if err := writeReport(o.out+".json", rep.WriteJSON); err != nil {
			return err
		}
	}
	if o.json {
		return rep.WriteJSON(e.stdout)
	}
	return rep.WriteText(e.stdout)
}

func writeReport(path string, write func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = write(f)
	return errors.Join(err, f.Close())
}

// spawnServers starts a fresh `vigil serve` (temporary data directory,
// default settings) and a ceiling server from this very binary, and points
// the options at them. The returned stop ends both and removes the
// directory.
func (o *benchOptions) spawnServers(ctx context.Context, e *cli) (func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vigil-bench-")
	if err != nil {
		return nil, err
	}
	addr, err := loadgen.FreeAddr()
	if err != nil {
		return nil, err
	}
	srv, err := startServer(ctx, exe, dir, addr, o.reportOnly)
	if err != nil {
		return nil, err
	}
	ceil, caddr, err := startCeiling(ctx, exe, dir)
	if err != nil {
		return nil, errors.Join(err, srv.Stop(server.ShutdownTimeout))
	}
	o.addr, o.data, o.ceilingURL = "http://"+addr, filepath.Join(dir, "data"), "http://"+caddr
	o.serverPID, o.ceilingPID = srv.PID(), ceil.PID()
	fmt.Fprintf(e.stderr, "started vigil (pid %d) at %s and the ceiling (pid %d) at %s; logs in %s\n",
		srv.PID(), o.addr, ceil.PID(), o.ceilingURL, dir)
	return func() {
		errs := errors.Join(ceil.Stop(server.ShutdownTimeout), srv.Stop(server.ShutdownTimeout))
		if errs != nil {
			fmt.Fprintf(e.stderr, "vigil bench: stopping the servers: %v (logs kept in %s)\n", errs, dir)
			return
		}
		_ = os.RemoveAll(dir)
	}, nil
}

// startServer runs `vigil serve` on addr with its data in dir/data.
func startServer(ctx context.Context, exe, dir, addr string, reportOnly bool) (*loadgen.Process, error) {
	args := []string{"serve", "--listen", addr, "--issuer", "http://" + addr, "--data", filepath.Join(dir, "data"), "--log-level", "warn"}
	if reportOnly {
		cfg := filepath.Join(dir, "vigil.yaml")
		if err := os.WriteFile(cfg, []byte("policy:\n  report_only: true\n"), 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--config", cfg)
	}
	return loadgen.Start(ctx, exe, args, benchEnv(), filepath.Join(dir, "vigil.log"), "http://"+addr+"/health/ready", 5*time.Minute)
}

func startCeiling(ctx context.Context, exe, dir string) (*loadgen.Process, string, error) {
	addr, err := loadgen.FreeAddr()
	if err != nil {
		return nil, "", err
	}
	p, err := loadgen.Start(ctx, exe, []string{"bench", "ceiling", "--listen", addr}, benchEnv(),
		filepath.Join(dir, "ceiling.log"), "http://"+addr+"/ready", 30*time.Second)
	return p, addr, err
}

// benchEnv is this process's environment without VIGIL_ settings, so a
// spawned server runs with defaults whatever the shell exports.
func benchEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VIGIL_") {
			out = append(out, kv)
		}
	}
	return out
}

// benchScale opens many sessions on a fresh server, reads its memory,
// restarts it and times its return.
func benchScale(ctx context.Context, args []string, e *cli) error {
	fs := e.newFlagSet("bench scale", "bench scale [--sessions N] [--connections N] [--out FILE] [--keep DIR]")
	n := fs.Int("sessions", 1_000_000, "sessions to open")
	conns := fs.Int("connections", 32, "concurrent connections")
	clients := fs.Int("clients", 16, "agent clients to spread the sessions over")
	out := fs.String("out", "", "also write the report to OUT.txt and OUT.json")
	keep := fs.String("keep", "", "run the server in DIR (created; must not exist) and keep its data there for inspection (vigil db stats)")
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var dir string
	if *keep != "" {
		dir, err = *keep, os.Mkdir(*keep, 0o700)
	} else {
		dir, err = os.MkdirTemp("", "vigil-scale-")
		defer os.RemoveAll(dir)
	}
	if err != nil {
		return err
	}
	rep, err := runScale(ctx, exe, dir, *n, *conns, *clients, e)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := errors.Join(writeReport(*out+".txt", rep.WriteText), writeReport(*out+".json", rep.WriteJSON)); err != nil {
			return err
		}
	}
	return rep.WriteText(e.stdout)
}

func runScale(ctx context.Context, exe, dir string, n, conns, clients int, e *cli) (*loadgen.ScaleReport, error) {
	addr, err := loadgen.FreeAddr()
	if err != nil {
		return nil, err
	}
	srv, err := startServer(ctx, exe, dir, addr, false)
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv.Stop(server.ShutdownTimeout) }()
	t, err := loadgen.NewTarget("http://"+addr, false)
	if err != nil {
		return nil, err
	}
	o := &benchOptions{data: filepath.Join(dir, "data"), clients: clients, spawn: true}
	env, _, err := o.env(ctx, t, e)
	if err != nil {
		return nil, err
	}
	sc := &loadgen.Scale{Env: env, Sessions: n, Connections: conns, Server: srv, Progress: e.stderr,
		DBPath: filepath.Join(dir, "data", server.DBFile),
		Stop:   func() error { return srv.Stop(server.ShutdownTimeout) },
		Start: func(ctx context.Context) (*loadgen.Process, error) {
			srv, err = startServer(ctx, exe, dir, addr, false)
			return srv, err
		}}
	return sc.Run(ctx)
}

// benchCeiling serves the ceiling handler until ctx is done.
func benchCeiling(ctx context.Context, args []string, e *cli) error {
	fs := e.newFlagSet("bench ceiling", "bench ceiling [--listen ADDR]")
	listen := fs.String("listen", "127.0.0.1:8081", "listen address")
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "ceiling listening on http://%s\n", ln.Addr())
	return ceiling.Serve(ctx, ln)
}
