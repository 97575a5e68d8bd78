package server

import "github.com/vigil-auth/vigil/risk"

// defaultRisk builds the engine with the default policy.
func defaultRisk() (Risk, error) {
	return risk.New(risk.DefaultPolicy())
}
