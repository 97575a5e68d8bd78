package register

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/storage"
)

// maxStatement bounds a software statement before any parsing.
const maxStatement = limits.StatementSize

// statementLeeway tolerates clock skew on a statement's time claims, as on
// client assertions'.
const statementLeeway = limits.ClockLeeway

// jwtClaims are the registered claims of a statement; they are not client
// metadata and never overlay it.
var jwtClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

func badStatement(desc string) *oauth.Error {
	return oauth.Errorf(InvalidSoftwareStatement, "%s", desc)
}

// applyStatement verifies a software statement (RFC 7591 §2.3) and returns
// m with the statement's metadata taking precedence (§3.1.1), and the
// statement's issuer. The issuer must be a trusted issuer the policy names
// (else unapproved_software_statement); the signature, by that issuer's
// keys, and the time claims must hold (else invalid_software_statement).
func (h *Handler) applyStatement(ctx context.Context, raw string, m Metadata) (Metadata, string, error) {
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return m, "", badStatement("software_statement is not a signed JWT with an issuer")
	}
	if !slices.Contains(h.p.StatementIssuers, iss) {
		return m, "", oauth.Errorf(UnapprovedSoftwareStatement, "software statements from %q are not accepted", iss)
	}
	rec, err := h.d.Store.GetIssuer(ctx, iss)
	if errors.Is(err, storage.ErrNotFound) {
		return m, "", oauth.Errorf(UnapprovedSoftwareStatement, "issuer %q is not trusted", iss)
	}
	if err != nil {
		return m, "", storeErr(err)
	}
	var claims map[string]json.RawMessage
	if err := h.d.Verifier.VerifyIssuerJWT(ctx, raw, rec, &claims); err != nil {
		return m, "", badStatement("software_statement signature is not valid")
	}
	if err := checkTimes(claims, h.d.Now()); err != nil {
		return m, "", err
	}
	out, err := overlay(m, claims)
	if err != nil {
		return m, "", badStatement("software_statement metadata is not valid: " + err.Error())
	}
	return out, iss, nil
}

// unverifiedIssuer reads iss from a compact JWS without verifying it, to
// pick the keys to verify it with.
func unverifiedIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(raw) > maxStatement || len(parts) != 3 {
		return "", errors.New("not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer == "" {
		return "", errors.New("no issuer")
	}
	return c.Issuer, nil
}

// checkTimes refuses an expired, not yet valid or future-issued statement.
func checkTimes(claims map[string]json.RawMessage, now time.Time) *oauth.Error {
	num := func(name string) (time.Time, bool, error) {
		v, ok := claims[name]
		if !ok {
			return time.Time{}, false, nil
		}
		var n int64
		if err := json.Unmarshal(v, &n); err != nil {
			return time.Time{}, true, err
		}
		return time.Unix(n, 0), true, nil
	}
	exp, hasExp, e1 := num("exp")
	nbf, hasNbf, e2 := num("nbf")
	iat, hasIat, e3 := num("iat")
	switch {
	case errors.Join(e1, e2, e3) != nil:
		return badStatement("software_statement time claims must be numbers")
	case hasExp && !now.Before(exp.Add(statementLeeway)):
		return badStatement("software_statement has expired")
	case hasNbf && nbf.After(now.Add(statementLeeway)):
		return badStatement("software_statement is not yet valid")
	case hasIat && iat.After(now.Add(statementLeeway)):
		return badStatement("software_statement is issued in the future")
	}
	return nil
}

// overlay returns m with every metadata member of claims replacing m's.
func overlay(m Metadata, claims map[string]json.RawMessage) (Metadata, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return m, err
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(b, &merged); err != nil {
		return m, err
	}
	for k, v := range claims {
		if !slices.Contains(jwtClaims, k) {
			merged[k] = v
		}
	}
	b, err = json.Marshal(merged)
	if err != nil {
		return m, err
	}
	var out Metadata
	if err := json.Unmarshal(b, &out); err != nil {
		return m, err
	}
	return out, nil
}
