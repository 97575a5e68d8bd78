package ssf

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// RFC 8935 §2.4 error codes (the Security Event Token Error Codes registry).
const (
	ErrInvalidRequest   = "invalid_request"
	ErrInvalidKey       = "invalid_key"
	ErrInvalidIssuer    = "invalid_issuer"
	ErrInvalidAudience  = "invalid_audience"
	ErrAuthentication   = "authentication_failed"
	ErrAccessDenied     = "access_denied"
	defaultMaxAge       = time.Hour
	defaultPollInterval = 5 * time.Second
)

// SETError is why a SET was refused: an RFC 8935 error code and a
// description, answered with HTTP 400 (push) or in setErrs (poll).
type SETError struct {
	Code        string `json:"err"`
	Description string `json:"description"`
}

// Error names the code and the description.
func (e *SETError) Error() string { return "ssf: SET refused: " + e.Code + ": " + e.Description }

func refuse(code, format string, a ...any) *SETError {
	return &SETError{Code: code, Description: fmt.Sprintf(format, a...)}
}

// errDuplicate is the SETError of a jti already taken.
var errDuplicate = refuse(ErrInvalidRequest, "duplicate jti")

// SETVerifier verifies a SET's signature with a trusted issuer's keys
// (inline jwks or jwks_uri, and its algorithm allow-list), decodes the claims
// into out, and returns the JWS typ header. Errors mean the signature or
// the key is not acceptable.
type SETVerifier interface {
	VerifySET(ctx context.Context, raw string, iss storage.Issuer, out any) (typ string, err error)
}

// Signaler applies a risk signal to session sid, or to every active
// session of clientID. authz implements it.
type Signaler interface {
	Signal(ctx context.Context, sid, clientID string, sig risk.Signal) (map[string]risk.Decision, error)
}

// Receiver takes SETs from trusted issuers and turns them into risk signals.
// It is safe for concurrent use.
type Receiver struct {
	issuer  string
	store   storage.Store
	verify  SETVerifier
	signals Signaler
	hc      *http.Client
	log     *slog.Logger
	now     func() time.Time
	leeway  time.Duration
	// inflight holds the jtis being applied in this process, so that the
	// same SET arriving twice at once is applied once.
	inflight sync.Map
}

// NewReceiver returns a Receiver for Vigil at issuer (the default audience).
func NewReceiver(issuer string, store storage.Store, v SETVerifier, s Signaler, log *slog.Logger, now func() time.Time) *Receiver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Receiver{issuer: issuer, store: store, verify: v, signals: s, log: log, now: now, leeway: 30 * time.Second,
		hc: &http.Client{Timeout: 15 * time.Second, CheckRedirect: noRedirects}}
}

// inbound is a received SET's claim set.
type inbound struct {
	keys.Registered
	TxN    string                     `json:"txn,omitempty"`
	TOE    *keys.NumericDate          `json:"toe,omitempty"`
	SubID  *Subject                   `json:"sub_id,omitempty"`
	Events map[string]json.RawMessage `json:"events"`
}

// Push serves the push endpoint (RFC 8935 §2): a SET as the body, with
// Content-Type application/secevent+jwt. It answers 202 when the SET was
// accepted (its signal applied, or nothing to apply it to), 400 with an
// RFC 8935 error body when it was refused (and nothing changed), 503 when
// the store failed (the transmitter retries).
func (rc *Receiver) Push(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != ContentTypeSET {
		writeSETError(w, refuse(ErrInvalidRequest, "Content-Type must be %s", ContentTypeSET))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, keys.MaxTokenSize+1))
	if err != nil {
		writeSETError(w, refuse(ErrInvalidRequest, "unreadable body"))
		return
	}
	auth := r.Header.Get("Authorization")
	err = rc.accept(r.Context(), strings.TrimSpace(string(body)), &auth)
	var se *SETError
	switch {
	case errors.As(err, &se):
		rc.log.InfoContext(r.Context(), "ssf: SET refused", "err", se.Code, "description", se.Description)
		writeSETError(w, se)
	case err != nil:
		rc.log.ErrorContext(r.Context(), "ssf: applying a SET failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

func writeSETError(w http.ResponseWriter, e *SETError) {
	writeJSON(w, http.StatusBadRequest, e)
}

// Accept validates raw and applies its event. A refusal is a *SETError and
// changes nothing; any other error is the store's.
func (rc *Receiver) Accept(ctx context.Context, raw string) error {
	return rc.accept(ctx, raw, nil)
}

// accept is Accept; auth, when not nil, is the Authorization header a
// pushed SET came with.
func (rc *Receiver) accept(ctx context.Context, raw string, auth *string) error {
	iss, c, err := rc.validate(ctx, raw, auth)
	if err != nil {
		return err
	}
	key := jtiKey(iss, c)
	if _, busy := rc.inflight.LoadOrStore(key, struct{}{}); busy {
		return errDuplicate
	}
	defer rc.inflight.Delete(key)
	uri, body := onlyEvent(c.Events)
	if uri == EventVerification || uri == EventStreamUpdated {
		return rc.claim(ctx, iss, c, true)
	}
	sig, err := signalOf(uri, body)
	if err != nil {
		return err
	}
	if err := rc.claim(ctx, iss, c, false); err != nil {
		return err
	}
	if err := rc.apply(ctx, iss, c, body, sig); err != nil {
		return err
	}
	return rc.claim(ctx, iss, c, true)
}

// validate checks everything but replay: size, signature with the issuer's
// keys, typ, iss, aud, iat freshness, exp, jti, one event of a type the
// issuer may send.
func (rc *Receiver) validate(ctx context.Context, raw string, auth *string) (storage.Issuer, inbound, error) {
	var c inbound
	if raw == "" || len(raw) > keys.MaxTokenSize {
		return storage.Issuer{}, c, refuse(ErrInvalidRequest, "the body is not a SET")
	}
	claimed, err := unverifiedIssuer(raw)
	if err != nil {
		return storage.Issuer{}, c, err
	}
	iss, err := rc.store.GetIssuer(ctx, claimed)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && iss.SSF == nil) {
		return iss, c, refuse(ErrInvalidIssuer, "issuer is not trusted for security events")
	}
	if err != nil {
		return iss, c, err
	}
	if want := iss.SSF.PushAuthorization; auth != nil && want != "" &&
		subtle.ConstantTimeCompare([]byte(*auth), []byte(want)) != 1 {
		return iss, c, refuse(ErrAuthentication, "the push does not carry the issuer's authorization")
	}
	typ, err := rc.verify.VerifySET(ctx, raw, iss, &c)
	if err != nil {
		return iss, c, refuse(ErrInvalidKey, "signature not verified with the issuer's keys")
	}
	if !strings.EqualFold(strings.TrimPrefix(strings.ToLower(typ), "application/"), TypSET) {
		return iss, c, refuse(ErrInvalidRequest, "typ must be %s", TypSET)
	}
	return iss, c, rc.checkClaims(iss, c)
}

func (rc *Receiver) checkClaims(iss storage.Issuer, c inbound) error {
	aud := cmpOr(iss.SSF.Audience, rc.issuer)
	now := rc.now()
	maxAge := cmpOr(iss.SSF.MaxAge.D(), defaultMaxAge)
	switch {
	case c.Issuer != iss.Issuer:
		return refuse(ErrInvalidIssuer, "iss does not match")
	case !c.Audience.Contains(aud):
		return refuse(ErrInvalidAudience, "aud must contain %s", aud)
	case c.ID == "" || len(c.ID) > 256:
		return refuse(ErrInvalidRequest, "jti is required")
	case c.IssuedAt == nil:
		return refuse(ErrInvalidRequest, "iat is required")
	case c.IssuedAt.Time().After(now.Add(rc.leeway)):
		return refuse(ErrInvalidRequest, "iat is in the future")
	case now.Sub(c.IssuedAt.Time()) > maxAge:
		return refuse(ErrInvalidRequest, "the SET is too old (expired)")
	case c.Expiry != nil && !now.Add(-rc.leeway).Before(c.Expiry.Time()):
		return refuse(ErrInvalidRequest, "the SET has expired")
	case c.Subject != "" && c.SubID == nil:
		return refuse(ErrInvalidRequest, "the subject goes in sub_id, not sub")
	case len(c.Events) != 1:
		return refuse(ErrInvalidRequest, "events must hold exactly one event")
	}
	uri, _ := onlyEvent(c.Events)
	if len(iss.SSF.Events) > 0 && !slices.Contains(iss.SSF.Events, uri) && uri != EventVerification {
		return refuse(ErrAccessDenied, "event type %.200q is not accepted from this issuer", uri)
	}
	return nil
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

// unverifiedIssuer reads iss from raw's payload, only to pick the keys
// that will verify it.
func unverifiedIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", refuse(ErrInvalidRequest, "the body is not a compact JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Issuer string `json:"iss"`
	}
	if err != nil || json.Unmarshal(b, &c) != nil || c.Issuer == "" {
		return "", refuse(ErrInvalidRequest, "the SET has no readable iss")
	}
	return c.Issuer, nil
}

func onlyEvent(evs map[string]json.RawMessage) (string, json.RawMessage) {
	for uri, body := range evs {
		return uri, body
	}
	return "", nil
}

// signalOf maps an event to the risk signal Vigil understands.
func signalOf(uri string, body json.RawMessage) (risk.Signal, error) {
	switch uri {
	case EventSessionRevoked, EventAccountDisabled, EventAccountPurged, EventRISCSessionsRevoked:
		return risk.Signal{Type: risk.SignalSessionRevoked}, nil
	case EventCredentialChange, EventCredentialCompromise, EventAccountCredentialChange:
		return risk.Signal{Type: risk.SignalCredentialChange}, nil
	case EventRiskLevelChange:
		var ev struct {
			Current string `json:"current_level"`
		}
		lvl := ""
		if json.Unmarshal(body, &ev) == nil {
			lvl = strings.ToLower(ev.Current)
		}
		if lvl != "low" && lvl != "medium" && lvl != "high" {
			return risk.Signal{}, refuse(ErrInvalidRequest, "current_level must be LOW, MEDIUM or HIGH")
		}
		return risk.Signal{Type: risk.SignalRiskLevelChange, Level: lvl}, nil
	}
	return risk.Signal{}, refuse(ErrInvalidRequest, "event type %.200q is not supported", uri)
}

// jtiKey names c's jti among every issuer's.
func jtiKey(iss storage.Issuer, c inbound) string { return "ssf:" + iss.Issuer + ":" + c.ID }

// claim records c's jti as used (record) or only checks that it is not
// (a probe: the transaction is rolled back). A used jti is errDuplicate.
func (rc *Receiver) claim(ctx context.Context, iss storage.Issuer, c inbound, record bool) error {
	key := jtiKey(iss, c)
	exp := c.IssuedAt.Time().Add(cmpOr(iss.SSF.MaxAge.D(), defaultMaxAge) + rc.leeway)
	errProbe := errors.New("probe")
	err := rc.store.Update(ctx, func(w storage.Writer) error {
		if err := w.UseJTI(ctx, key, exp, rc.now()); err != nil {
			return err
		}
		if !record {
			return errProbe
		}
		return nil
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return errDuplicate
	case errors.Is(err, errProbe):
		return nil
	}
	return err
}
