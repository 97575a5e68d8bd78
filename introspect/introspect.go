// Package introspect serves RFC 7662 token introspection with Vigil's risk
// verdict, and RFC 9701 signed (JWT) answers. A resource server learns only
// about tokens meant for it; every inactive case answers exactly
// {"active":false}. It imports storage, risk and internal/oauth, never authz
// or keys: it declares the small interfaces it needs.
package introspect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// Authenticator authenticates the calling client. authz implements it.
type Authenticator interface {
	AuthenticateClient(ctx context.Context, r *http.Request, form url.Values) (storage.Client, error)
}

// Store is the part of storage introspection reads.
type Store interface {
	GetToken(ctx context.Context, id string) (storage.Token, error)
	GetSession(ctx context.Context, id string) (storage.Session, error)
	GetClient(ctx context.Context, id string) (storage.Client, error)
	GetResource(ctx context.Context, audience string) (storage.Resource, error)
}

// Policy bounds a live token by the registrations as they are now, the same
// check every grant applies: it returns the token narrowed, or an error
// matching ErrNotAllowed when nothing of it is allowed. authz implements it.
type Policy interface {
	Bound(ctx context.Context, t storage.Token, sess storage.Session, holder storage.Client) (storage.Token, error)
}

// Throttle bounds how many tokens that do not exist may be introspected
// per key (RFC 7662 §4). Unknown charges key for one and reports whether
// key was already out of budget and the wait until it is not. authz
// implements it.
type Throttle interface {
	Unknown(ctx context.Context, key string) (throttled bool, wait time.Duration)
}

// Risk judges one event on a session. *risk.Engine implements it.
type Risk interface {
	Observe(ev risk.Event) risk.Decision
}

// ContextRisk is a Risk that also takes the context of the request it
// judges for; when Handler.Risk implements it, the handler calls
// ObserveContext instead of Observe (the server traces decisions through
// it). The decision must be the one Observe would give.
type ContextRisk interface {
	ObserveContext(ctx context.Context, ev risk.Event) risk.Decision
}

// observe asks the risk engine about ev, with ctx when it takes one.
func (h *Handler) observe(ctx context.Context, ev risk.Event) risk.Decision {
	if cr, ok := h.Risk.(ContextRisk); ok {
		return cr.ObserveContext(ctx, ev)
	}
	return h.Risk.Observe(ev)
}

// Terminator ends a session when the verdict is terminate. authz implements it.
type Terminator interface {
	TerminateSession(ctx context.Context, sid, reason string) error
}

// Signer signs RFC 9701 answers. *keys.Manager implements it.
type Signer interface {
	Sign(typ string, claims any) (string, error)
}

// Metrics counts answers by verdict. A nil Metrics counts nothing.
type Metrics interface {
	Introspected(verdict string)
}

// Handler serves the introspection endpoint. Every field but Metrics and
// Log is required.
type Handler struct {
	Issuer   string
	Auth     Authenticator
	Store    Store
	Risk     Risk
	Sessions Terminator
	Signer   Signer
	// Policy bounds live tokens by the current registrations.
	Policy Policy
	// Scans throttles token scanning; nil throttles nothing.
	Scans Throttle
	// TokenID maps a presented token to its storage ID (authz.TokenID).
	TokenID func(raw string) string
	// Profile maps a registration to what the risk engine needs (authz.Profile).
	Profile func(storage.Client) risk.ClientProfile
	Metrics Metrics
	Log     *slog.Logger
	Now     func() time.Time
}

// JWTMediaType is RFC 9701's media type for signed introspection answers.
const JWTMediaType = "application/token-introspection+jwt"

// ServeHTTP answers one introspection request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, caller, err := h.introspect(r)
	if err != nil {
		h.count("unauthorized")
		oauth.WriteError(w, r, h.log(), err)
		return
	}
	h.count(resp.verdict())
	if wantsJWT(r) {
		h.writeJWT(w, r, resp, caller)
		return
	}
	oauth.WriteJSON(w, http.StatusOK, resp)
}

func (h *Handler) introspect(r *http.Request) (*Response, storage.Client, error) {
	ctx := r.Context()
	form, err := oauth.ParseForm(r, oauth.DefaultLimits)
	if err != nil {
		return nil, storage.Client{}, err
	}
	caller, err := h.Auth.AuthenticateClient(ctx, r, form)
	if err != nil {
		return nil, caller, err
	}
	if len(caller.Introspect) == 0 {
		return nil, caller, oauth.Errorf(oauth.InvalidClient, "client may not introspect").
			WithHeader("WWW-Authenticate", `Basic realm="vigil"`)
	}
	raw := form.Get("token")
	if raw == "" {
		return nil, caller, oauth.Errorf(oauth.InvalidRequest, "token is required")
	}
	resp, err := h.evaluate(ctx, caller, raw, usageOf(form))
	return resp, caller, err
}

// usage is the context a resource server reports with its question.
type usage struct {
	tool, tenant string
	ip           netip.Addr
}

func usageOf(form url.Values) usage {
	u := usage{tool: form.Get("tool"), tenant: form.Get("tenant")}
	u.ip, _ = netip.ParseAddr(form.Get("ip"))
	return u
}

var inactive = &Response{Active: false}

// ErrNotAllowed is what a Policy's error matches when the registrations no
// longer allow a token at all; the server wires authz.ErrRegistration here.
var ErrNotAllowed = errors.New("introspect: token not allowed by the registrations")

// evaluate decides what caller may learn about raw. Only a failing store is
// an error; every other failure is simply inactive (RFC 7662 §2.2).
func (h *Handler) evaluate(ctx context.Context, caller storage.Client, raw string, u usage) (*Response, error) {
	now := h.Now()
	tok, err := h.Store.GetToken(ctx, h.TokenID(raw))
	if errors.Is(err, storage.ErrNotFound) {
		return h.unknown(ctx, caller, u)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if tok.Kind != storage.AccessToken || !tok.Active(now) {
		return inactive, nil
	}
	sess, owner, err := h.context(ctx, tok)
	if err != nil || sess.Status != storage.SessionActive || owner.Disabled {
		return inactive, storeErr(err)
	}
	// The registrations as they are now bound live tokens: what an admin
	// removed is gone from every token at once. Only a failing store is an
	// error; a token the registrations no longer allow is inactive.
	tok, err = h.Policy.Bound(ctx, tok, sess, owner)
	if err != nil && !errors.Is(err, ErrNotAllowed) {
		return nil, unavailable(err)
	}
	if err != nil || len(tok.Audiences) == 0 {
		return inactive, nil
	}
	aud, meant := sharedAudience(tok.Audiences, caller.Introspect)
	ev := h.event(ctx, tok, owner, caller, aud, u, now)
	h.delegated(ctx, &ev, sess, owner)
	if !meant {
		ev.Facts = []string{risk.FactUnexpectedIntrospect}
		ev.Evidence = "introspected by " + caller.ID
		h.observe(ctx, ev)
		return inactive, nil
	}
	resp, err := h.verdict(ctx, tok, h.observe(ctx, ev), now)
	if resp != nil && resp.Active {
		resp.JTI = tokenJTI(raw, tok)
	}
	return resp, err
}

// unknown answers a token that does not exist: inactive, or 429 with
// Retry-After once its presenter has sent too many. The key is what the
// presenter controls: the caller, with the address the caller reports the
// token came from, so a client scanning through an honest resource server
// throttles itself, not the server. Tokens that exist never get here.
func (h *Handler) unknown(ctx context.Context, caller storage.Client, u usage) (*Response, error) {
	if h.Scans == nil {
		return inactive, nil
	}
	key := caller.ID
	if u.ip.IsValid() {
		key += "|" + u.ip.String()
	}
	over, wait := h.Scans.Unknown(ctx, key)
	if !over {
		return inactive, nil
	}
	secs := max(int64((wait+time.Second-1)/time.Second), 1)
	return nil, (&oauth.Error{Code: oauth.TemporarilyUnavailable, Status: http.StatusTooManyRequests,
		Description: "too many unknown tokens introspected from this origin; retry later"}).
		WithHeader("Retry-After", strconv.FormatInt(secs, 10))
}

// context loads the token's session and owning client.
func (h *Handler) context(ctx context.Context, tok storage.Token) (storage.Session, storage.Client, error) {
	sess, err := h.Store.GetSession(ctx, tok.SessionID)
	if err != nil {
		return sess, storage.Client{}, err
	}
	owner, err := h.Store.GetClient(ctx, tok.ClientID)
	return sess, owner, err
}

// verdict turns a risk decision into the answer: terminate and deny are
// inactive; otherwise active with the risk member and the effective expiry.
func (h *Handler) verdict(ctx context.Context, tok storage.Token, d risk.Decision, now time.Time) (*Response, error) {
	if d.ReportOnly {
		d.Action = risk.Allow
	}
	switch d.Action {
	case risk.Terminate:
		if err := h.Sessions.TerminateSession(ctx, tok.SessionID, "risk: critical"); err != nil {
			h.log().ErrorContext(ctx, "terminating session failed", "session", tok.SessionID, "err", err)
		}
		return inactive, nil
	case risk.Deny:
		return inactive, nil
	}
	exp := tok.ExpiresAt
	if d.MaxTTL > 0 && tok.IssuedAt.Add(d.MaxTTL).Before(exp) {
		exp = tok.IssuedAt.Add(d.MaxTTL)
	}
	if !now.Before(exp) {
		return inactive, nil
	}
	return h.active(tok, exp, d), nil
}

func (h *Handler) event(ctx context.Context, tok storage.Token, owner, caller storage.Client, aud string, u usage, now time.Time) risk.Event {
	ev := risk.Event{Op: risk.OpIntrospect, At: now, SessionID: tok.SessionID, ClientID: tok.ClientID,
		Caller: caller.ID, Client: h.Profile(owner), IP: u.ip, Audience: aud, Scopes: tok.Scopes,
		Tool: u.tool, Tenant: u.tenant, Actors: tok.Actors}
	if res, err := h.Store.GetResource(ctx, aud); err == nil {
		ev.Resource = risk.ResourceProfile{Sensitivity: res.Sensitivity, Tenant: res.Tenant, Tactic: res.Tactic}
	}
	return ev
}

// delegated fixes the event of a delegated token, which its current actor
// holds in another client's session: the session's client owns the event
// (its baseline judges the session), and the actor's registration judges
// the address the token was used from.
func (h *Handler) delegated(ctx context.Context, ev *risk.Event, sess storage.Session, holder storage.Client) {
	if len(ev.Actors) == 0 || sess.ClientID == holder.ID {
		return
	}
	if ev.Actors[0] == holder.ID {
		ev.ActorProfile = h.Profile(holder)
	}
	if c, err := h.Store.GetClient(ctx, sess.ClientID); err == nil {
		ev.ClientID, ev.Client = c.ID, h.Profile(c)
	}
}

// sharedAudience returns the first token audience the caller may introspect.
func sharedAudience(tokenAuds, allowed []string) (string, bool) {
	for _, a := range tokenAuds {
		if slices.Contains(allowed, a) {
			return a, true
		}
	}
	return "", false
}

func (h *Handler) count(verdict string) {
	if h.Metrics != nil {
		h.Metrics.Introspected(verdict)
	}
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

func wantsJWT(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == JWTMediaType {
			return true
		}
	}
	return false
}

func unavailable(err error) error {
	return fmt.Errorf("%w: %w", oauth.Unavailable("storage unavailable, try again"), err)
}

// storeErr is nil for a missing record (the answer is inactive) and
// unavailable for a failing store.
func storeErr(err error) error {
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return unavailable(err)
}
