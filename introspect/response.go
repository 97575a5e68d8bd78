package introspect

import (
	"net/http"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// Response is an introspection answer (RFC 7662 §2.2, RFC 8693 §4, RFC 9449
// §6.2). An inactive answer marshals as exactly {"active":false}.
type Response struct {
	Active     bool       `json:"active"`
	Scope      string     `json:"scope,omitempty"`
	ClientID   string     `json:"client_id,omitempty"`
	Subject    string     `json:"sub,omitempty"`
	Audience   any        `json:"aud,omitempty"`
	Issuer     string     `json:"iss,omitempty"`
	Expiry     int64      `json:"exp,omitempty"`
	IssuedAt   int64      `json:"iat,omitempty"`
	NotBefore  int64      `json:"nbf,omitempty"`
	JTI        string     `json:"jti,omitempty"`
	TokenType  string     `json:"token_type,omitempty"`
	SessionID  string     `json:"sid,omitempty"`
	Act        *oauth.Act `json:"act,omitempty"`
	ChainDepth int        `json:"chain_depth,omitempty"`
	Cnf        *oauth.Cnf `json:"cnf,omitempty"`
	Risk       *Verdict   `json:"risk,omitempty"`
}

// Verdict is Vigil's risk extension member: what the resource server should
// do with this token now, and why.
type Verdict struct {
	Level   risk.Level  `json:"level"`
	Score   int         `json:"score"`
	Action  risk.Action `json:"action"`
	Reasons []string    `json:"reasons"`
	// Challenge is the WWW-Authenticate value to send when Action is step_up.
	Challenge string `json:"challenge,omitempty"`
	// OriginalExp is the token's own expiry when risk shortened it (exp is then earlier).
	OriginalExp int64 `json:"original_exp,omitempty"`
}

func (r *Response) verdict() string {
	switch {
	case !r.Active:
		return "inactive"
	case r.Risk != nil && r.Risk.Action == risk.StepUp:
		return "step_up"
	}
	return "active"
}

func (h *Handler) active(tok storage.Token, exp time.Time, d risk.Decision) *Response {
	r := &Response{Active: true, Scope: strings.Join(tok.Scopes, " "), ClientID: tok.ClientID, Subject: tok.Subject,
		Issuer: h.Issuer, Expiry: exp.Unix(), IssuedAt: tok.IssuedAt.Unix(), NotBefore: tok.NotBefore.Unix(),
		TokenType: "Bearer", SessionID: tok.SessionID, Act: oauth.NewAct(tok.Actors), ChainDepth: len(tok.Actors)}
	switch len(tok.Audiences) {
	case 0:
	case 1:
		r.Audience = tok.Audiences[0]
	default:
		r.Audience = tok.Audiences
	}
	if tok.JKT != "" {
		r.TokenType, r.Cnf = "DPoP", &oauth.Cnf{JKT: tok.JKT}
	}
	v := &Verdict{Level: d.Level, Score: d.Score, Action: d.Action, Reasons: []string{}}
	for _, reason := range d.Reasons {
		if reason.Code == risk.ReasonPrior || reason.Code == risk.ReasonImpact {
			continue // every decision has them: resource servers get the evidence codes
		}
		v.Reasons = append(v.Reasons, reason.Code)
	}
	if d.Action == risk.StepUp {
		v.Challenge = `Bearer error="insufficient_user_authentication", error_description="session revalidation required"`
	}
	if !exp.Equal(tok.ExpiresAt) {
		v.OriginalExp = tok.ExpiresAt.Unix()
	}
	r.Risk = v
	return r
}

// jwtAnswer is RFC 9701 §5's claims set.
type jwtAnswer struct {
	Issuer   string    `json:"iss"`
	Audience string    `json:"aud"`
	IssuedAt int64     `json:"iat"`
	Answer   *Response `json:"token_introspection"`
}

// writeJWT answers with a signed JWT (RFC 9701 §5): typ
// token-introspection+jwt, audience the calling resource server.
func (h *Handler) writeJWT(w http.ResponseWriter, r *http.Request, resp *Response, caller storage.Client) {
	raw, err := h.Signer.Sign("token-introspection+jwt",
		jwtAnswer{Issuer: h.Issuer, Audience: caller.ID, IssuedAt: h.Now().Unix(), Answer: resp})
	if err != nil {
		oauth.WriteError(w, r, h.log(), err)
		return
	}
	w.Header().Set("Content-Type", JWTMediaType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(raw))
}
