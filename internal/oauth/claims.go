package oauth

import "slices"

// Act is RFC 8693 §4.1's act claim: the current actor, and the prior chain
// nested inside. Tokens and introspection answers carry the same shape.
type Act struct {
	Subject string `json:"sub"`
	Act     *Act   `json:"act,omitempty"`
}

// NewAct builds the nested act claim of a delegation chain, current actor
// first; nil for an empty chain.
func NewAct(actors []string) *Act {
	var act *Act
	for i := len(actors) - 1; i >= 0; i-- {
		act = &Act{Subject: actors[i], Act: act}
	}
	return act
}

// Cnf is the confirmation claim of a DPoP-bound token (RFC 9449 §6.1) and of
// its introspection answer (§6.2).
type Cnf struct {
	JKT string `json:"jkt"`
}

// Intersect returns the members of a that b also has, in a's order: the
// scopes or audiences two grants share. It returns nil when they share none.
func Intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
