package rs

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/keys"
)

// Shared Signals event types the signal handler acts on (OpenID CAEP 1.0).
const (
	EventSessionRevoked  = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	EventRiskLevelChange = "https://schemas.openid.net/secevent/caep/event-type/risk-level-change"
)

// SignalConfig configures [Middleware.SignalHandler].
type SignalConfig struct {
	// Issuer is Vigil's issuer URL: the iss of every SET.
	Issuer string
	// Audience is the aud of the stream's SETs: this resource server's
	// client ID at Vigil (the stream's owner).
	Audience string
	// JWKSURL is where Vigil's signing keys are; empty means
	// Issuer + "/.well-known/jwks.json".
	JWKSURL string
	// Authorization, when set, must be the Authorization header of every
	// push: the authorization_header given when the stream was created.
	Authorization string
	// MaxAge is how old (by iat) a SET may be; 0 means 1h.
	MaxAge time.Duration
	// HTTPClient fetches the JWKS; nil means a client with DefaultTimeout.
	HTTPClient *http.Client
}

// set is the part of a Security Event Token the handler reads.
type set struct {
	keys.Registered
	SubID *struct {
		Format  string `json:"format"`
		ID      string `json:"id"`
		Session *struct {
			ID string `json:"id"`
		} `json:"session"`
	} `json:"sub_id"`
	Events map[string]json.RawMessage `json:"events"`
}

// setError is an RFC 8935 §2.4 error answer.
type setError struct {
	Err         string `json:"err"`
	Description string `json:"description"`
}

// SignalHandler returns an RFC 8935 push endpoint for the Shared Signals
// stream this resource server creates at Vigil (see docs/SIGNALS.md). Each
// SET must be signed with a key in Vigil's JWKS, with typ secevent+jwt, the
// configured iss and aud, a fresh iat and a jti not seen before. On CAEP
// session-revoked the session's tokens are refused from then on (for as
// long as a verdict could have been cached): a call its cached verdict
// would have allowed is refused without asking Vigil; on risk-level-change
// its cached verdicts are dropped, so the next call asks Vigil again. Other
// events are accepted and ignored. It answers 202, 400 with an RFC 8935
// error, or 401 (authentication_failed) without the configured
// Authorization.
func (m *Middleware) SignalHandler(cfg SignalConfig) (http.Handler, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("rs: signal handler needs Issuer and Audience")
	}
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/jwks.json"
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = time.Hour
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	h := &signalHandler{m: m, cfg: cfg, jwks: keys.NewJWKSCache(hc), seen: newReplayCache(DefaultReplaySize)}
	return h, nil
}

type signalHandler struct {
	m    *Middleware
	cfg  SignalConfig
	jwks *keys.JWKSCache
	seen *replayCache
}

func (h *signalHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if h.cfg.Authorization != "" &&
		subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(h.cfg.Authorization)) != 1 {
		writeSETError(w, http.StatusUnauthorized, "authentication_failed", "the push is not authenticated")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/secevent+jwt" {
		writeSETError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/secevent+jwt")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, keys.MaxTokenSize+1))
	if err != nil {
		writeSETError(w, http.StatusBadRequest, "invalid_request", "unreadable body")
		return
	}
	if code, desc := h.accept(r, strings.TrimSpace(string(body))); code != "" {
		writeSETError(w, http.StatusBadRequest, code, desc)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// accept validates one SET and acts on it; a non-empty code refuses it.
func (h *signalHandler) accept(r *http.Request, raw string) (code, desc string) {
	var s set
	hdr, err := h.jwks.Verify(r.Context(), h.cfg.JWKSURL, raw, []string{"ES256", "EdDSA"}, &s)
	switch {
	case err != nil:
		return "invalid_key", "the SET is not signed with a key of the issuer"
	case !strings.EqualFold(strings.TrimPrefix(strings.ToLower(hdr.Type), "application/"), "secevent+jwt"):
		return "invalid_request", "typ must be secevent+jwt"
	case s.Issuer != h.cfg.Issuer:
		return "invalid_issuer", "iss does not match"
	case !s.Audience.Contains(h.cfg.Audience):
		return "invalid_audience", "aud does not name this receiver"
	}
	now := h.m.now()
	switch {
	case s.ID == "" || s.IssuedAt == nil || len(s.Events) != 1:
		return "invalid_request", "a SET needs jti, iat and exactly one event"
	case s.IssuedAt.Time().After(now.Add(time.Minute)) || now.Sub(s.IssuedAt.Time()) > h.cfg.MaxAge:
		return "invalid_request", "the SET is not fresh"
	}
	if err := h.seen.use(s.ID, s.IssuedAt.Time().Add(h.cfg.MaxAge+time.Minute), now); err != nil {
		return "invalid_request", fmt.Sprintf("jti refused: %v", err)
	}
	h.act(s)
	return "", ""
}

// act applies the event to the verdict cache.
func (h *signalHandler) act(s set) {
	sid := ""
	if s.SubID != nil && s.SubID.Session != nil {
		sid = s.SubID.Session.ID
	} else if s.SubID != nil && s.SubID.Format == "opaque" {
		sid = s.SubID.ID
	}
	if sid == "" {
		return
	}
	for uri := range s.Events {
		switch uri {
		case EventSessionRevoked:
			h.m.endSession(sid)
		case EventRiskLevelChange:
			h.m.cache.evictSession(sid)
		}
	}
}

// endSession refuses session sid's tokens from now on, for as long as a
// verdict about it could still be cached or on its way: a cached verdict
// about it is refused without asking Vigil. Should the record of ended
// sessions be full, its cached verdicts are dropped instead, so the next
// call asks Vigil.
func (m *Middleware) endSession(sid string) {
	now := m.now()
	if err := m.ended.use(sid, now.Add(m.cacheTTL+DefaultTimeout+time.Second), now); errors.Is(err, errReplayFull) {
		m.cache.evictSession(sid)
	}
}

// sessionEnded reports whether a SET ended session sid.
func (m *Middleware) sessionEnded(sid string) bool {
	return sid != "" && m.ended.has(sid, m.now())
}

// evictSession drops every cached verdict about session sid.
func (c *lru) evictSession(sid string) {
	if c == nil || sid == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if el.Value.(*cacheEntry).claims.SessionID == sid {
			c.remove(el)
		}
		el = next
	}
}

// has reports whether id is recorded and live at now.
func (c *replayCache) has(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	_, ok := c.seen[id]
	return ok
}

func writeSETError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(setError{Err: code, Description: desc})
}
