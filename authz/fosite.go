package authz

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ory/fosite"

	"github.com/vigil-auth/vigil/internal/oauth"
)

// newProvider builds the fosite provider: fosite parses the request, runs
// Vigil's client authentication and dispatches to the grant handlers below.
func (s *Server) newProvider() *fosite.Fosite {
	cfg := &fosite.Config{
		TokenURL:                     s.cfg.TokenURL(),
		ClientAuthenticationStrategy: s.fositeAuthenticate,
	}
	cfg.TokenEndpointHandlers = fosite.TokenEndpointHandlers{
		&grantHandler{s: s, grant: oauth.GrantClientCredentials, run: s.clientCredentials},
		&grantHandler{s: s, grant: oauth.GrantRefreshToken, run: s.refresh},
		&grantHandler{s: s, grant: oauth.GrantTokenExchange, run: s.exchange},
		unsupportedGrant{s: s},
	}
	return &fosite.Fosite{Store: noStore{}, Config: cfg}
}

// fositeClient carries an authenticated caller through fosite.
type fositeClient struct{ c caller }

func (f *fositeClient) GetID() string                      { return f.c.client.ID }
func (f *fositeClient) GetHashedSecret() []byte            { return nil }
func (f *fositeClient) GetRedirectURIs() []string          { return nil }
func (f *fositeClient) GetGrantTypes() fosite.Arguments    { return f.c.client.GrantTypes }
func (f *fositeClient) GetResponseTypes() fosite.Arguments { return nil }
func (f *fositeClient) GetScopes() fosite.Arguments        { return f.c.client.Scopes }
func (f *fositeClient) IsPublic() bool                     { return false }
func (f *fositeClient) GetAudience() fosite.Arguments      { return f.c.client.Audiences }

func (s *Server) fositeAuthenticate(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	c, err := s.authenticate(ctx, r, form)
	if err != nil {
		return nil, err
	}
	return &fositeClient{c: c}, nil
}

// session is fosite's per-request session; Vigil keeps its own sessions in
// storage, so this only carries the grant's answer from Handle to the writer.
type session struct {
	resp *tokenResponse
}

func (s *session) SetExpiresAt(fosite.TokenType, time.Time) {}
func (s *session) GetExpiresAt(fosite.TokenType) time.Time  { return time.Time{} }
func (s *session) GetUsername() string                      { return "" }
func (s *session) GetSubject() string                       { return "" }
func (s *session) Clone() fosite.Session                    { c := *s; return &c }

// grantHandler adapts one of Vigil's grants to fosite.TokenEndpointHandler.
type grantHandler struct {
	s     *Server
	grant string
	run   func(context.Context, *tokenRequest) (*tokenResponse, error)
}

var _ fosite.TokenEndpointHandler = (*grantHandler)(nil)

func (h *grantHandler) CanHandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) bool {
	return ar.GetGrantTypes().ExactOne(h.grant)
}

func (h *grantHandler) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (h *grantHandler) HandleTokenEndpointRequest(ctx context.Context, ar fosite.AccessRequester) error {
	fc, ok := ar.GetClient().(*fositeClient)
	sess, ok2 := ar.GetSession().(*session)
	r, ok3 := ctx.Value(fosite.RequestContextKey).(*http.Request)
	if !ok || !ok2 || !ok3 {
		return errors.New("authz: unexpected fosite request state")
	}
	req := &tokenRequest{caller: fc.c, grant: h.grant}
	resp, err := h.serve(ctx, r, ar, req)
	if err != nil {
		h.s.spendAfterRefusal(ctx, req, err)
		if !req.audited {
			h.s.auditRefusal(ctx, req.caller.client.ID, req.sid, h.grant, err)
		}
		return err
	}
	sess.resp = resp
	return nil
}

// serve parses the request into req and runs the grant. The client
// assertion's and the DPoP proof's single-use identifiers are claimed as
// soon as each verifies: whatever happens to the request afterwards, they
// are used up.
func (h *grantHandler) serve(ctx context.Context, r *http.Request, ar fosite.AccessRequester, req *tokenRequest) (*tokenResponse, error) {
	if err := h.s.claim(req, req.caller.jti); err != nil {
		return nil, err
	}
	parsed, err := newTokenRequest(r, ar.GetRequestForm(), req.caller)
	if err != nil {
		return nil, err
	}
	parsed.claimed = req.claimed
	*req = *parsed
	if req.proof, err = h.s.dpopProof(r); err != nil {
		return nil, err
	}
	if err := h.s.claim(req, proofPending(req.proof)); err != nil {
		return nil, err
	}
	return h.run(ctx, req)
}

func (h *grantHandler) PopulateTokenEndpointResponse(context.Context, fosite.AccessRequester, fosite.AccessResponder) error {
	return fosite.ErrUnknownRequest
}

// unsupportedGrant answers every grant type Vigil does not implement; the
// caller's client assertion is used up all the same.
type unsupportedGrant struct{ s *Server }

func (unsupportedGrant) CanHandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) bool {
	return !slices.ContainsFunc(GrantTypes, func(g string) bool { return ar.GetGrantTypes().ExactOne(g) })
}
func (unsupportedGrant) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }
func (u unsupportedGrant) HandleTokenEndpointRequest(ctx context.Context, ar fosite.AccessRequester) error {
	err := oauth.Errorf(oauth.UnsupportedGrantType, "grant type not supported")
	if fc, ok := ar.GetClient().(*fositeClient); ok {
		req := &tokenRequest{caller: fc.c}
		if cerr := u.s.claim(req, fc.c.jti); cerr != nil {
			return cerr
		}
		u.s.spendAfterRefusal(ctx, req, err)
	}
	return err
}
func (unsupportedGrant) PopulateTokenEndpointResponse(context.Context, fosite.AccessRequester, fosite.AccessResponder) error {
	return fosite.ErrUnknownRequest
}

// GrantTypes lists the grant types the token endpoint supports (RFC 8414).
var GrantTypes = []string{oauth.GrantClientCredentials, oauth.GrantRefreshToken, oauth.GrantTokenExchange}

// noStore is fosite's storage: Vigil authenticates clients itself, so fosite
// never needs to read one.
type noStore struct{}

func (noStore) GetClient(context.Context, string) (fosite.Client, error) {
	return nil, fosite.ErrNotFound
}
func (noStore) ClientAssertionJWTValid(context.Context, string) error { return fosite.ErrJTIKnown }
func (noStore) SetClientAssertionJWT(context.Context, string, time.Time) error {
	return fosite.ErrJTIKnown
}

// fromFosite turns an error fosite produced into Vigil's *oauth.Error,
// keeping the code and status and a short description.
func fromFosite(err error) error {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return err
	}
	var fe *fosite.RFC6749Error
	if errors.As(err, &fe) {
		return &oauth.Error{Code: fe.ErrorField, Description: fe.DescriptionField, Status: fe.CodeField}
	}
	return err
}
