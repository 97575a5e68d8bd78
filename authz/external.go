package authz

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/storage"
)

// maxExternalJWT bounds an external subject token before any JOSE parsing.
const maxExternalJWT = 16 << 10

// externalClaims are the claims read from a trusted issuer's JWT.
type externalClaims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  audienceList `json:"aud"`
	Expiry    *int64       `json:"exp"`
	NotBefore *int64       `json:"nbf"`
	IssuedAt  *int64       `json:"iat"`
	MayAct    *struct {
		Subject string `json:"sub"`
	} `json:"may_act"`
}

// externalSubject verifies a JWT from a trusted issuer (a Kubernetes
// service-account token, a CI job's OIDC token, a SPIFFE JWT-SVID) and opens
// a new session for the client its subject maps to, which must be the caller.
func (s *Server) externalSubject(ctx context.Context, raw string, c storage.Client) (subjectToken, error) {
	if len(raw) > maxExternalJWT {
		return subjectToken{}, errSubject("subject_token is too long")
	}
	pk, err := unverifiedClaims(raw)
	if err != nil || pk.Issuer == "" {
		return subjectToken{}, errSubject("subject_token is not a valid JWT")
	}
	iss, err := s.store.GetIssuer(ctx, pk.Issuer)
	if errors.Is(err, storage.ErrNotFound) {
		return subjectToken{}, errSubject("subject_token issuer is not trusted")
	}
	if err != nil {
		return subjectToken{}, storeErr(err)
	}
	var cl externalClaims
	if err := s.verifier.VerifyIssuerJWT(ctx, raw, iss, &cl); err != nil {
		return subjectToken{}, errSubject("subject_token signature is invalid")
	}
	if err := s.checkExternal(cl, iss); err != nil {
		return subjectToken{}, err
	}
	if mapSubject(iss.Subjects, cl.Subject) != c.ID {
		return subjectToken{}, errSubject("subject_token's subject is not mapped to the calling client")
	}
	return s.externalSession(c, iss, cl), nil
}

// checkExternal validates the registered claims of a verified external JWT.
func (s *Server) checkExternal(cl externalClaims, iss storage.Issuer) error {
	now := s.now()
	switch {
	case cl.Issuer != iss.Issuer || cl.Subject == "":
		return errSubject("subject_token iss or sub is invalid")
	case iss.Audience != "" && !slices.Contains(cl.Audience, iss.Audience):
		return errSubject("subject_token audience is not accepted")
	case cl.Expiry == nil || !now.Before(time.Unix(*cl.Expiry, 0)):
		// No leeway on exp: an expired subject is refused, and every token
		// of the exchange ends no later than it does.
		return errSubject("subject_token is expired")
	case cl.NotBefore != nil && time.Unix(*cl.NotBefore, 0).After(now.Add(clockLeeway)):
		return errSubject("subject_token is not yet valid")
	case cl.IssuedAt != nil && time.Unix(*cl.IssuedAt, 0).After(now.Add(clockLeeway)):
		return errSubject("subject_token is issued in the future")
	}
	return nil
}

// mapSubject returns the client an external subject maps to: an exact
// mapping, or the longest prefix mapping ending in "*"; "" if none.
func mapSubject(ms []storage.SubjectMapping, sub string) string {
	best, bestLen := "", -1
	for _, m := range ms {
		switch {
		case m.Subject == sub:
			return m.ClientID
		case strings.HasSuffix(m.Subject, "*") && strings.HasPrefix(sub, strings.TrimSuffix(m.Subject, "*")) && len(m.Subject) > bestLen:
			best, bestLen = m.ClientID, len(m.Subject)
		}
	}
	return best
}

// externalSession builds the new session and the synthetic subject token an
// external JWT stands for: what the issuer may be exchanged for, narrowed to
// the client's registration, until the JWT expires.
func (s *Server) externalSession(c storage.Client, iss storage.Issuer, cl externalClaims) subjectToken {
	now := s.now()
	sess := storage.Session{ID: "ses_" + randomString(16), ClientID: c.ID, Subject: cl.Subject, CreatedAt: now,
		Status: storage.SessionActive, Issuer: iss.Issuer}
	tok := storage.Token{Kind: storage.AccessToken, ClientID: c.ID, Subject: cl.Subject, SessionID: sess.ID,
		Scopes: orAll(iss.Scopes, c.Scopes), Audiences: orAll(iss.Audiences, c.Audiences),
		IssuedAt: now, NotBefore: now, ExpiresAt: time.Unix(*cl.Expiry, 0)}
	if cl.MayAct != nil && cl.MayAct.Subject != "" {
		tok.MayAct = []string{cl.MayAct.Subject}
	}
	return subjectToken{token: tok, session: sess, owner: c, newSess: true}
}

// orAll narrows allowed to limit, or returns allowed when limit is empty.
func orAll(limit, allowed []string) []string {
	if len(limit) == 0 {
		return slices.Clone(allowed)
	}
	return oauth.Intersect(allowed, limit)
}
