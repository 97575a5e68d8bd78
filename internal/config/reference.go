package config

import (
	"fmt"
	"strings"

	"github.com/vigil-auth/vigil/internal/limits"
)

// Variable is an environment variable that is not a file setting: where
// the file is, secret material, the command-line client's server, tracing.
type Variable struct {
	Name, Flag, Doc string
	// Secret values are never printed (`vigil config show` redacts them).
	Secret bool
}

// Variables lists the environment variables besides the settings'.
var Variables = []Variable{
	{"VIGIL_CONFIG", "config", "the configuration file (YAML)", false},
	{"VIGIL_SECRET", "", fmt.Sprintf("key-encryption key material (%d bytes or more); without it `<data>/kek` is generated (mode 0600)", limits.SecretMinLength), true},
	{"VIGIL_ADDR", "addr", "the server the command-line client talks to (default http://VIGIL_LISTEN)", false},
	{"VIGIL_ADMIN_TOKEN", "token", "the admin token the command-line client presents (default: `<data>/admin-token`)", true},
	{"OTEL_TRACES_EXPORTER", "", "`otlp` or `console` turns tracing on (off by default; see docs/OPERATIONS.md, Tracing); `none` keeps it off", false},
	{"OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", "the OTLP collector (default http://localhost:4318); setting either turns tracing on", false},
	{"OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "", "`http/protobuf` (default) or `grpc`", false},
	{"OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TRACES_HEADERS", "", "headers sent to the collector (e.g. an API key)", true},
	{"OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES", "", "the service name (default `vigil`) and resource attributes of spans", false},
	{"OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG", "", "sampling (default `parentbased_always_on`: an incoming traceparent's decision is kept)", false},
	{"OTEL_PROPAGATORS", "", "trace context formats read from requests (default `tracecontext,baggage`)", false},
	{"OTEL_SDK_DISABLED", "", "`true` turns tracing off whatever else is set", false},
}

// Reference returns docs/CONFIG.md: every setting with its file key,
// environment variable, flag and default, then the other variables. It is
// generated from [Fields], [Defaults] and [Variables], and a test keeps the
// file current.
func Reference() string {
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated from internal/config (Fields, Defaults, Variables); do not edit.
     Regenerate with: make docs -->

Every setting can come from a flag of ` + "`vigil serve`" + `, an environment variable
(` + "`VIGIL_`" + ` and the key in upper case), the configuration file, or the default; each
overrides the ones after it: **flag > environment > file > default**.
` + "`vigil config show`" + ` prints the effective value of each setting and where it came from.

Durations are Go durations (` + "`90s`, `15m`, `24h`" + `); booleans are ` + "`true`/`false`" + `.
Clients, resources, trusted issuers and the risk policy are declarations, not settings: they
come from the file (or the admin API), never from the environment.

## Settings

| file key | environment | flag | default | meaning |
|---|---|---|---|---|
`)
	d := Defaults()
	for _, f := range Fields {
		flag := ""
		if f.Flag != "" {
			flag = "`--" + f.Flag + "`"
		}
		def := d.Value(f.Key)
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | `%s` | %s |\n", f.Key, f.Env(), flag, def, f.Doc)
	}
	b.WriteString("\n## Other environment variables\n\n| environment | flag | secret | meaning |\n|---|---|---|---|\n")
	for _, v := range Variables {
		flag, secret := "", ""
		if v.Flag != "" {
			flag = "`--" + v.Flag + "`"
		}
		if v.Secret {
			secret = "yes"
		}
		names := strings.Split(v.Name, ", ")
		for i := range names {
			names[i] = "`" + names[i] + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", strings.Join(names, ", "), flag, secret, v.Doc)
	}
	return b.String()
}
