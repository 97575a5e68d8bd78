package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigil-auth/vigil/internal/config"
)

// configCommands are "vigil config …".
func configCommands() []command {
	return []command{
		{"show", "[serve flags] [--json]", "print the effective settings (flags > environment > file > defaults), each with where it came from; secrets redacted", configShow},
	}
}

// shownSetting is one line of `vigil config show`.
type shownSetting struct {
	Key    string        `json:"key"`
	Env    string        `json:"env"`
	Value  string        `json:"value"`
	Origin config.Origin `json:"origin"`
}

// redacted stands in for a secret's value.
const redacted = "(set, redacted)"

// configShow resolves the settings exactly as `vigil serve` would, with
// the same flags, and prints them. It starts nothing and opens no data.
func configShow(_ context.Context, e *cli, args []string) error {
	var o serveOptions
	fs := e.newFlagSet("config show", "config show [serve flags] [--json]")
	addServeFlags(fs, &o)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err != nil {
		return err
	}
	file, s, origins, err := resolveWithOrigins(o, e.getenv)
	if err != nil {
		return err
	}
	var out []shownSetting
	for _, f := range config.Fields {
		v := s.Value(f.Key)
		if f.Key == "issuer" && v == "" {
			v = config.DefaultIssuer(s.Listen) + " (from listen)"
		}
		out = append(out, shownSetting{f.Key, f.Env(), v, origins[f.Key]})
	}
	for _, v := range config.Variables {
		if val := e.getenv(v.Name); val != "" && (v.Name == "VIGIL_CONFIG" || v.Name == "VIGIL_SECRET") {
			if v.Secret {
				val = redacted
			}
			out = append(out, shownSetting{"", v.Name, val, config.OriginEnv})
		}
	}
	policy := shownSetting{Key: "policy", Value: "default policy", Origin: config.OriginDefault}
	if s.Policy != nil {
		policy.Value, policy.Origin = "from the file", config.OriginFile
	}
	out = append(out, policy)
	if file != nil {
		out = append(out, shownSetting{Key: "declared", Origin: config.OriginFile, Value: fmt.Sprintf("%d clients (secrets redacted), %d resources, %d trusted issuers",
			len(file.Clients), len(file.Resources), len(file.TrustedIssuers))})
	}
	if *asJSON {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
		return nil
	}
	tw := e.newTable()
	fmt.Fprintln(tw, "SETTING\tVALUE\tFROM\tENVIRONMENT")
	for _, l := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", dash(l.Key), l.Value, l.Origin, dash(l.Env))
	}
	return tw.Flush()
}
