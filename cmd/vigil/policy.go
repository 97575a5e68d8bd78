package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/risk"
)

func decodePolicy(n *yaml.Node) (risk.Policy, error) {
	p := risk.DefaultPolicy()
	if err := config.Decode(n, &p); err != nil {
		return p, fmt.Errorf("policy: %w", err)
	}
	return p, nil
}

// policyCommands are "vigil policy …".
func policyCommands() []command {
	return []command{
		{"check", "FILE", "validate a risk policy: a policy file, or a configuration file's policy section", policyCheck},
	}
}

// policyCheck validates FILE without starting anything: it decodes the
// policy strictly over the defaults, validates it, and compiles, type-checks
// and cost-checks its CEL rules.
func policyCheck(_ context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("policy check", "policy check FILE")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1); err != nil {
		return err
	}
	node, err := policyNode(pos[0])
	if err != nil {
		return err
	}
	msg, err := checkPolicyNode(node)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", pos[0], msg)
	return nil
}

// checkPolicyNode decodes, validates and compiles a policy (nil: the
// default policy) and describes it.
func checkPolicyNode(node *yaml.Node) (string, error) {
	p := risk.DefaultPolicy()
	var err error
	if node != nil {
		if p, err = decodePolicy(node); err != nil {
			return "", err
		}
	}
	_, n, err := server.NewRiskEngine(p)
	if err != nil {
		return "", err
	}
	mode := "enforcing"
	if p.ReportOnly {
		mode = "report-only"
	}
	what := "policy"
	if node == nil {
		what = "no policy section, the default policy"
	}
	return fmt.Sprintf("%s ok (%s, %d rules)", what, mode, n), nil
}

// checkPolicyDraft checks a draft policy (a policy document, or a
// configuration file with a policy section) as `vigil policy check` checks
// a file; the console calls it.
func checkPolicyDraft(b []byte) (string, error) {
	node, err := policyNodeOf(b, "draft")
	if err != nil {
		return "", err
	}
	return checkPolicyNode(node)
}

// policyNode reads path and returns its policy: the "policy" section of a
// configuration file, or the whole document of a policy file. A
// configuration file without a policy section yields nil: the server runs
// it with the default policy.
func policyNode(path string) (*yaml.Node, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return policyNodeOf(b, path)
}

// policyNodeOf is policyNode for a document already read; path labels
// errors.
func policyNodeOf(b []byte, path string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New(path + ": not a YAML mapping")
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "policy" && isConfigFile(root) {
			return root.Content[i+1], nil
		}
	}
	if isConfigFile(root) {
		return nil, nil
	}
	return root, nil
}

// isConfigFile reports whether a mapping looks like a configuration file
// (it has clients, resources or server settings) rather than a bare policy.
func isConfigFile(root *yaml.Node) bool {
	for i := 0; i < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "clients", "resources", "trusted_issuers", "issuer", "listen", "data", "policy":
			return true
		}
	}
	return false
}
