package authz

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/http"
	"time"

	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// Proof is what a verified DPoP proof establishes (RFC 9449 §4.3).
type Proof struct {
	JKT         string    // RFC 7638 thumbprint of the proof key
	JTI         string    // single-use identifier
	ReplayUntil time.Time // how long JTI must be remembered
}

// ErrUseDPoPNonce reports a valid proof that lacks an acceptable server nonce.
var ErrUseDPoPNonce = errors.New("authz: DPoP nonce required")

// ProofVerifier checks the JOSE part of a DPoP proof against the request's
// method and URL, and its nonce with validNonce when that is non-nil. Errors
// other than ErrUseDPoPNonce mean an invalid proof.
type ProofVerifier interface {
	VerifyProof(raw, method, url string, now time.Time, validNonce func(string) bool) (Proof, error)
}

// nonceWindow is how long one server nonce is current; the previous window's
// nonce is still accepted.
const nonceWindow = limits.DPoPNonceWindow

// Nonce returns the current server nonce (RFC 9449 §8): a MAC of the time
// window, so any instance with the same key can check it without state.
func (s *Server) Nonce() string { return s.nonceAt(s.now().Unix() / int64(nonceWindow/time.Second)) }

func (s *Server) nonceAt(window int64) string {
	m := hmac.New(sha256.New, s.cfg.RefreshKey)
	m.Write([]byte("dpop-nonce"))
	_ = binary.Write(m, binary.BigEndian, window)
	return b64.EncodeToString(m.Sum(nil)[:18])
}

func (s *Server) validNonce(n string) bool {
	w := s.now().Unix() / int64(nonceWindow/time.Second)
	return hmac.Equal([]byte(n), []byte(s.nonceAt(w))) || hmac.Equal([]byte(n), []byte(s.nonceAt(w-1)))
}

// dpopProof verifies the request's DPoP header, if any, for the token
// endpoint. The expected htu comes from the configured issuer, never from
// request headers. A replayed jti is caught by claiming it like a client
// assertion's.
func (s *Server) dpopProof(r *http.Request) (*Proof, error) {
	vals := r.Header.Values("DPoP")
	switch {
	case len(vals) == 0:
		return nil, nil
	case len(vals) > 1:
		return nil, errDPoP("exactly one DPoP header is allowed")
	case s.proofs == nil:
		return nil, errDPoP("DPoP is not enabled")
	}
	var nonce func(string) bool
	if s.cfg.DPoPNonce {
		nonce = s.validNonce
	}
	p, err := s.proofs.VerifyProof(vals[0], http.MethodPost, s.cfg.TokenURL(), s.now(), nonce)
	if errors.Is(err, ErrUseDPoPNonce) {
		return nil, (&oauth.Error{Code: oauth.UseDPoPNonce, Description: "a DPoP nonce is required"}).
			WithHeader("DPoP-Nonce", s.Nonce())
	}
	if err != nil {
		return nil, errDPoP("DPoP proof is invalid")
	}
	return &p, nil
}

func errDPoP(desc string) *oauth.Error { return oauth.Errorf(oauth.InvalidDPoPProof, "%s", desc) }

// binding decides the DPoP key a grant's tokens are bound to: bound, the key
// of the token the caller presents as its own (which the proof must match;
// a proof by another key is recorded on subj's session), else the proof's
// key. A client registered with dpop must always prove possession. Whenever
// it accepts a proof, it returns the proof's key. For which token's key an
// exchange demands, see exchangeBinding.
func (s *Server) binding(ctx context.Context, req *tokenRequest, bound string, subj *subjectToken) (string, error) {
	p := req.proof
	switch {
	case bound != "" && p == nil:
		return "", errDPoP("the token is DPoP-bound: a proof is required")
	case bound != "" && p.JKT != bound:
		if subj != nil && !subj.newSess {
			s.recordFact(ctx, req, *subj, risk.FactPoPMismatch, "DPoP proof by another key")
		}
		return "", errDPoP("the DPoP proof does not match the token's key")
	case bound != "":
		return bound, nil
	case p != nil:
		return p.JKT, nil
	case req.caller.client.DPoP:
		return "", errDPoP("this client's tokens must be DPoP-bound: send a DPoP proof")
	}
	return "", nil
}

// proofJTI is the single-use record of a DPoP proof.
func proofJTI(p *Proof) (string, time.Time) { return "dpop:" + p.JKT + ":" + p.JTI, p.ReplayUntil }

var _ = storage.AccessToken
