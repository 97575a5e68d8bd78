package authz

import (
	"net/http"

	"github.com/vigil-auth/vigil/internal/oauth"
)

// TokenHandler serves the token endpoint (RFC 6749 §3.2): POST, form-encoded,
// answers with no-store JSON.
func (s *Server) TokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := s.token(r)
		if err != nil {
			oauth.WriteError(w, r, s.log, err)
			return
		}
		oauth.WriteJSON(w, http.StatusOK, resp)
		if resp.rotated != "" {
			s.rotated.answer(resp.rotated, s.now())
		}
	})
}

func (s *Server) token(r *http.Request) (*tokenResponse, error) {
	form, err := oauth.ParseForm(r, oauth.DefaultLimits)
	if err != nil {
		return nil, err
	}
	r.PostForm, r.Form = form, form
	sess := &session{}
	if _, err := s.provider.NewAccessRequest(r.Context(), r, sess); err != nil {
		return nil, fromFosite(err)
	}
	if sess.resp == nil {
		return nil, oauth.Errorf(oauth.UnsupportedGrantType, "grant type not supported")
	}
	return sess.resp, nil
}

// RevocationHandler serves RFC 7009 revocation: the client authenticates,
// names a token (the hint is ignored: every kind is searched), and gets 200
// with an empty body, also for a token that does not exist.
func (s *Server) RevocationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.revoke(r); err != nil {
			oauth.WriteError(w, r, s.log, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	})
}

func (s *Server) revoke(r *http.Request) error {
	form, err := oauth.ParseForm(r, oauth.DefaultLimits)
	if err != nil {
		return err
	}
	c, err := s.AuthenticateClient(r.Context(), r, form)
	if err != nil {
		return err
	}
	raw := form.Get("token")
	if raw == "" {
		return oauth.Errorf(oauth.InvalidRequest, "token is required")
	}
	err = s.Revoke(r.Context(), c.ID, raw)
	if err != nil {
		s.auditRefusal(r.Context(), c.ID, "", "revocation", err)
	}
	return err
}
