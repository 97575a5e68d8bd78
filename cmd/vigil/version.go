package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vigil-auth/vigil/internal/buildinfo"
)

// healthTimeout bounds `vigil health`; a container healthcheck runs it.
const healthTimeout = 3 * time.Second

// versionCmd is "vigil version [--json]": the release version, commit,
// commit and build times, Go version and platform of this binary.
func versionCmd(_ context.Context, args []string, e *cli) error {
	fs := e.newFlagSet("version", "version [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err != nil {
		return err
	}
	return printVersion(e.stdout, buildinfo.Read(), *asJSON)
}

func printVersion(w io.Writer, in buildinfo.Info, asJSON bool) error {
	if asJSON {
		b, err := json.MarshalIndent(in, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	fmt.Fprintf(w, "vigil %s\n", in.Version)
	commit := dash(in.Commit)
	if in.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(w, "  commit:      %s\n", commit)
	fmt.Fprintf(w, "  commit time: %s\n", dash(in.CommitTime))
	fmt.Fprintf(w, "  built:       %s\n", dash(in.BuildTime))
	_, err := fmt.Fprintf(w, "  go:          %s %s\n", in.GoVersion, in.Platform)
	return err
}

// healthCmd is "vigil health [--addr URL] [--alive]": it exits 0 when the
// server's readiness (or, with --alive, liveness) endpoint answers 200. A
// container's HEALTHCHECK runs it, so it needs no shell and no curl.
func healthCmd(ctx context.Context, args []string, e *cli) error {
	fs := e.newFlagSet("health", "health [--addr URL] [--alive]")
	addr := fs.String("addr", "", "server URL (env VIGIL_ADDR; default http://VIGIL_LISTEN, else http://127.0.0.1:8080)")
	alive := fs.Bool("alive", false, "check liveness (/health/alive) instead of readiness (/health/ready)")
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err != nil {
		return err
	}
	path := "/health/ready"
	if *alive {
		path = "/health/alive"
	}
	u := e.serverAddr(*addr) + path
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %s", u, resp.Status)
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", u)
	return nil
}
