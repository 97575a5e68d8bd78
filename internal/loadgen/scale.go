package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Scale measures what many live sessions cost a server: memory with every
// session and its risk state held, and the time a restart takes until the
// server answers again.
type Scale struct {
	Env *Env
	// Sessions is how many sessions to open (client_credentials, spread over
	// the agents); Connections how many requests run at once.
	Sessions, Connections int
	// Server is the running server's process; Stop ends it and Start starts
	// it again on the same data, returning once the new process is ready.
	Server *Process
	Stop   func() error
	Start  func(ctx context.Context) (*Process, error)
	// DBPath, if set, is the data file whose size is reported.
	DBPath   string
	Progress io.Writer
}

// ScaleReport is what Scale measured.
type ScaleReport struct {
	Sessions      int     `json:"sessions"`
	OpenSeconds   float64 `json:"open_seconds"`
	OpenPerSecond float64 `json:"open_per_second"`
	// Memory of the server holding every session, and after the restart.
	Before MemStatus `json:"before_restart"`
	After  MemStatus `json:"after_restart"`
	DBMiB  float64   `json:"db_mib,omitempty"`
	// DBCachedMiB is how much of the data file the page cache held when
	// Before was read, mapped by the server or not.
	DBCachedMiB float64 `json:"db_cached_mib,omitempty"`
	// StopSeconds is how long the graceful shutdown took. ReadySeconds runs
	// from starting the new process to its readiness answering 200;
	// ServingSeconds until the first introspection of a token issued before
	// the restart was answered.
	StopSeconds    float64 `json:"stop_seconds"`
	ReadySeconds   float64 `json:"ready_seconds"`
	ServingSeconds float64 `json:"serving_seconds"`
	// Checked tokens from before the restart, and how many were still active.
	Checked int `json:"checked_tokens"`
	Active  int `json:"checked_active"`
}

// MemStatus is a process's memory as /proc/PID/status reports it, in MiB.
type MemStatus struct {
	RSS     float64 `json:"rss_mib"`
	RSSAnon float64 `json:"rss_anon_mib"`
	RSSFile float64 `json:"rss_file_mib"`
	Peak    float64 `json:"peak_rss_mib"`
}

// ReadMemStatus reads /proc/PID/status.
func ReadMemStatus(pid int) (MemStatus, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return MemStatus{}, err
	}
	defer f.Close()
	var m MemStatus
	fields := map[string]*float64{"VmRSS": &m.RSS, "RssAnon": &m.RSSAnon, "RssFile": &m.RSSFile, "VmHWM": &m.Peak}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if dst := fields[k]; ok && dst != nil {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			*dst = kb / 1024
		}
	}
	return m, sc.Err()
}

// samples is how many of the opened sessions' tokens are kept to check
// after the restart.
const samples = 1000

// Run opens the sessions, reads the server's memory, restarts it and times
// its return.
func (s *Scale) Run(ctx context.Context) (*ScaleReport, error) {
	rep := &ScaleReport{Sessions: s.Sessions}
	start := time.Now()
	toks, err := s.open(ctx)
	if err != nil {
		return rep, err
	}
	rep.OpenSeconds = time.Since(start).Seconds()
	rep.OpenPerSecond = float64(s.Sessions) / rep.OpenSeconds
	if rep.Before, err = ReadMemStatus(s.Server.PID()); err != nil {
		return rep, err
	}
	if fi, err := os.Stat(s.DBPath); err == nil {
		rep.DBMiB = float64(fi.Size()) / (1 << 20)
		rep.DBCachedMiB, _ = FileCachedMiB(s.DBPath)
	}
	s.progress("%d sessions open; server RSS %.0f MiB; restarting", s.Sessions, rep.Before.RSS)
	t0 := time.Now()
	if err := s.Stop(); err != nil {
		return rep, fmt.Errorf("loadgen: stopping the server: %w", err)
	}
	rep.StopSeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	srv, err := s.Start(ctx)
	if err != nil {
		return rep, err
	}
	s.Server = srv
	rep.ReadySeconds = time.Since(t0).Seconds()
	first, err := s.introspect(ctx, toks[:1])
	if err != nil {
		return rep, err
	}
	rep.ServingSeconds = time.Since(t0).Seconds()
	rest, err := s.introspect(ctx, toks[1:])
	if err != nil {
		return rep, err
	}
	rep.Checked, rep.Active = len(toks), first+rest
	rep.After, err = ReadMemStatus(srv.PID())
	return rep, err
}

// open opens s.Sessions sessions and returns a sample of their tokens.
func (s *Scale) open(ctx context.Context) ([]string, error) {
	p := &prep{target: s.Env.Target, conns: max(s.Connections, 1), load: Load{}.withDefaults()}
	step := max(s.Sessions/samples, 1)
	kept := make([]string, (s.Sessions+step-1)/step)
	var done atomic.Int64
	err := p.parallel(ctx, s.Sessions, func(ctx context.Context, c *Conn, i int) error {
		tok, err := s.Env.issue(ctx, c, s.Env.Agents[i%len(s.Env.Agents)])
		if err != nil {
			return fmt.Errorf("session %d: %w", i+1, err)
		}
		if i%step == 0 {
			kept[i/step] = tok
		}
		if n := done.Add(1); n%100000 == 0 {
			s.progress("%d sessions open", n)
		}
		return nil
	})
	return kept, err
}

// introspect asks about each token and returns how many are active.
func (s *Scale) introspect(ctx context.Context, toks []string) (int, error) {
	c := NewConn(s.Env.Target, 30*time.Second)
	defer c.Close()
	n := 0
	for i, tok := range toks {
		resp, err := c.Do(ctx, s.Env.introspectRequest(s.Env.RS[i%len(s.Env.RS)], tok))
		if err != nil {
			return n, err
		}
		if active, _ := activeOf(resp.Body); resp.Status == 200 && active {
			n++
		}
	}
	return n, nil
}

func (s *Scale) progress(format string, args ...any) {
	if s.Progress != nil {
		fmt.Fprintf(s.Progress, format+"\n", args...)
	}
}

// WriteText writes r for people.
func (r *ScaleReport) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, `Vigil scale
sessions          %d opened in %.0fs (%.0f/s), each with its token and risk state
server memory     RSS %.0f MiB (anonymous %.0f, file-backed %.0f; peak %.0f)
data file         %.0f MiB, of which %.0f MiB in the page cache
restart           stopped in %.2fs; ready after %.2fs, first introspection answered after %.2fs
after restart     RSS %.0f MiB (anonymous %.0f, file-backed %.0f); %d of %d sampled tokens still active
`, r.Sessions, r.OpenSeconds, r.OpenPerSecond, r.Before.RSS, r.Before.RSSAnon, r.Before.RSSFile, r.Before.Peak,
		r.DBMiB, r.DBCachedMiB, r.StopSeconds, r.ReadySeconds, r.ServingSeconds, r.After.RSS, r.After.RSSAnon, r.After.RSSFile, r.Active, r.Checked)
	return err
}

// WriteJSON writes r as indented JSON.
func (r *ScaleReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
