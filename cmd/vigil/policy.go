package main

import (
	"fmt"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/risk"
)

// riskFromPolicy builds the risk engine from the file's policy section,
// decoded strictly over the default policy. Without a policy section it
// returns nil, and the server uses the default policy.
func riskFromPolicy(s config.Settings) (server.Risk, error) {
	if s.Policy == nil {
		return nil, nil
	}
	p := risk.DefaultPolicy()
	if err := config.Decode(s.Policy, &p); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	eng, err := risk.New(p)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return eng, nil
}
