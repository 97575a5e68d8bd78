// Command vigil runs the Vigil authorization server and administers it.
//
//	vigil serve [--listen ADDR] [--data DIR] [--issuer URL] [--config FILE]
//	vigil client   list|get|create|update|delete|rotate-secret ...
//	vigil resource list|get|create|update|delete ...
//	vigil issuer   list|get|create|update|delete ...
//	vigil session  list|show|terminate ...
//	vigil keys     list|rotate [--offline]
//	vigil token    get|exchange|introspect|revoke|sign-jwt
//	vigil policy   check FILE
//	vigil config   show [serve flags] [--json]
//	vigil replay   [--json] [--steps] [--check] FILE...
//	vigil eval     --seed N|N-M [--json] [--curve] [--plot FILE.png] [--out FILE]
//	vigil signal   send (--session SID | --client ID) --type TYPE [--level L]
//	vigil audit    [--client ID] [--sid SID] [--since TIME] [--limit N] [--oldest]
//	vigil bench    [--spawn] [--duration D] ... | bench scale
//	vigil health   [--addr URL] [--alive]
//	vigil version  [--json]
//
// The administration commands call the admin REST API of a running server
// (--addr / VIGIL_ADDR, --token / VIGIL_ADMIN_TOKEN, or the admin-token file
// in the data directory). An annotated configuration file is in
// testdata/vigil.example.yaml.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // schedules name IANA zones; do not depend on the host's zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// errUsage reports a command line that could not be understood; the usage
// text has already been printed.
var errUsage = errors.New("usage")

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "vigil:", err)
	return 1
}

const usage = `Vigil is an OAuth 2.0 authorization server for non-human identities.

Usage:
  vigil serve [flags]                 run the server (vigil serve -h for flags)
  vigil client   list|get|create|update|delete|rotate-secret
  vigil resource list|get|create|update|delete
  vigil issuer   list|get|create|update|delete
  vigil session  list|show|terminate
  vigil keys     list|rotate
  vigil token    get|exchange|introspect|revoke|sign-jwt
  vigil policy   check FILE
  vigil config   show [serve flags]       effective settings and their origins
  vigil replay   [--json] [--steps] [--check] FILE...
  vigil eval     --seed N|N-M [--json] [--curve] [--plot FILE.png] [--out FILE]
  vigil signal   send
  vigil db       backup FILE | restore FILE | end-sessions | check [FILE]   (see docs/OPERATIONS.md)
  vigil audit    [--client ID] [--sid SID] [--since TIME] [--limit N] [--oldest]
  vigil bench    [flags] | bench scale [flags]   load-test a server
  vigil health   [--addr URL] [--alive]      exit 0 when the server is ready
  vigil version  [--json]

Administration commands talk to a running server's admin API. They take
--addr (VIGIL_ADDR, default http://127.0.0.1:8080) and --token
(VIGIL_ADMIN_TOKEN; default: the admin-token file in --data / VIGIL_DATA).
Run "vigil COMMAND -h" for details.
`

// run executes the command line args (without the program name) and
// returns nil on success. It reads the environment only through getenv.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	e := &cli{getenv: getenv, stdout: stdout, stderr: stderr}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, e)
	case "bench":
		return bench(ctx, rest, e)
	case "client", "clients":
		return e.group(ctx, "client", clientCommands(), rest)
	case "resource", "resources":
		return e.group(ctx, "resource", resourceCommands(), rest)
	case "issuer", "issuers":
		return e.group(ctx, "issuer", issuerCommands(), rest)
	case "session", "sessions":
		return e.group(ctx, "session", sessionCommands(), rest)
	case "keys", "key":
		return e.group(ctx, "keys", keysCommands(), rest)
	case "token":
		return e.group(ctx, "token", tokenCommands(), rest)
	case "policy":
		return e.group(ctx, "policy", policyCommands(), rest)
	case "config":
		return e.group(ctx, "config", configCommands(), rest)
	case "replay":
		return replayCmd(ctx, rest, e)
	case "eval":
		return evalCmd(ctx, rest, e)
	case "audit":
		return auditCommand(ctx, e, rest)
	case "signal", "signals":
		return e.group(ctx, "signal", signalCommands(), rest)
	case "db":
		return e.group(ctx, "db", dbCommands(), rest)
	case "version", "--version", "-version":
		return versionCmd(ctx, rest, e)
	case "health":
		return healthCmd(ctx, rest, e)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "vigil: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
}

// cli carries what every command needs.
type cli struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// command is one subcommand of a group such as "client".
type command struct {
	name    string
	args    string // positional arguments, for usage
	summary string
	run     func(ctx context.Context, e *cli, args []string) error
}

// group dispatches "vigil GROUP SUB ARGS".
func (e *cli) group(ctx context.Context, group string, cmds []command, args []string) error {
	if len(args) > 0 {
		for _, c := range cmds {
			if c.name == args[0] {
				return c.run(ctx, e, args[1:])
			}
		}
	}
	out := e.stderr
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		out = e.stdout
	} else if len(args) > 0 {
		fmt.Fprintf(out, "vigil %s: unknown subcommand %q\n\n", group, args[0])
	}
	fmt.Fprintf(out, "Usage:\n")
	for _, c := range cmds {
		fmt.Fprintf(out, "  vigil %s %s %s\n      %s\n", group, c.name, c.args, c.summary)
	}
	if out == e.stdout {
		return nil
	}
	return errUsage
}
