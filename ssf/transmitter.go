package ssf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// Scope is the scope a receiver's access token must carry to manage its
// streams and poll them.
const Scope = "ssf:manage"

// Defaults for Config's zero fields.
const (
	DefaultRetention   = 7 * 24 * time.Hour
	DefaultPushTimeout = 5 * time.Second
	DefaultMinBackoff  = time.Second
	DefaultMaxBackoff  = 30 * time.Second
	DefaultIdlePoll    = 250 * time.Millisecond
	// MaxStreamsPerClient bounds the streams one receiver may create.
	MaxStreamsPerClient = 10
)

// Config configures a Transmitter.
type Config struct {
	// Issuer is Vigil's issuer URL: the SETs' iss and the endpoints' base.
	Issuer string
	// Retention is how long an undelivered SET waits before it is dropped.
	Retention time.Duration
	// PushTimeout bounds one push request.
	PushTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between failed pushes of a
	// stream: it doubles from MinBackoff up to MaxBackoff, with jitter.
	MinBackoff, MaxBackoff time.Duration
	// IdlePoll is how often an idle push stream looks at its outbox for
	// entries it was not told about.
	IdlePoll time.Duration
	// LongPoll bounds how long a poll request without returnImmediately
	// waits for events (RFC 8936 §2.1); 0 means 10s.
	LongPoll time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Retention, DefaultRetention)
	def(&c.PushTimeout, DefaultPushTimeout)
	def(&c.MinBackoff, DefaultMinBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	def(&c.IdlePoll, DefaultIdlePoll)
	def(&c.LongPoll, 10*time.Second)
	return c
}

// Signer signs SET claims with Vigil's active key. *keys.Manager implements it.
type Signer interface {
	Sign(typ string, claims any) (string, error)
}

// Transmitter queues and delivers Vigil's security events to the streams
// receivers created. It is safe for concurrent use.
type Transmitter struct {
	cfg     Config
	store   storage.Store
	signer  Signer
	tokenID func(raw string) string
	hc      *http.Client
	log     *slog.Logger
	now     func() time.Time
	kick    *broadcast
	gate    func(ctx context.Context, stream string) bool
}

// Option replaces one of a Transmitter's defaults.
type Option func(*Transmitter)

// WithClock sets the time source (default time.Now).
func WithClock(now func() time.Time) Option { return func(t *Transmitter) { t.now = now } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(t *Transmitter) { t.log = l } }

// WithHTTPClient sets the client pushes go through (default: one with
// Config.PushTimeout).
func WithHTTPClient(hc *http.Client) Option { return func(t *Transmitter) { t.hc = hc } }

// WithPushGate makes the push worker deliver a stream only while gate
// reports that this process should: several instances sharing one store
// then push each stream from one of them, in order, rather than from all
// at once. The default pushes every stream.
func WithPushGate(gate func(ctx context.Context, stream string) bool) Option {
	return func(t *Transmitter) { t.gate = gate }
}

// NewTransmitter returns a Transmitter. tokenID maps a presented access
// token to its storage ID (authz.TokenID).
func NewTransmitter(cfg Config, store storage.Store, signer Signer, tokenID func(string) string, opts ...Option) (*Transmitter, error) {
	if cfg.Issuer == "" || store == nil || signer == nil || tokenID == nil {
		return nil, errors.New("ssf: issuer, store, signer and token IDs are required")
	}
	cfg = cfg.withDefaults()
	t := &Transmitter{cfg: cfg, store: store, signer: signer, tokenID: tokenID,
		log: slog.New(slog.DiscardHandler), now: time.Now, kick: newBroadcast()}
	for _, o := range opts {
		o(t)
	}
	if t.hc == nil {
		t.hc = &http.Client{Timeout: cfg.PushTimeout, CheckRedirect: noRedirects}
	}
	return t, nil
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// event is one security event before it is addressed to streams.
type event struct {
	uri     string
	subject *Subject
	// keys are the canonical subjects the event is about (subjectKey).
	keys    []string
	payload map[string]any
	at      time.Time
	txn     string
}

// SessionRevoked queues CAEP session-revoked for session sess inside w:
// initiator is admin, policy or system (CAEP 1.0 initiating_entity).
func (t *Transmitter) SessionRevoked(ctx context.Context, w storage.Writer, sess storage.Session, initiator, reason string) error {
	at := t.now()
	p := map[string]any{"event_timestamp": unix(at), "initiating_entity": initiator}
	if r := reasonText(reason); r != nil {
		p["reason_admin"] = r
	}
	return t.emit(ctx, w, t.sessionEvent(EventSessionRevoked, sess, p, at))
}

// RiskLevelChanged queues CAEP risk-level-change for session sess inside
// w: its level moved from previous to current (LOW, MEDIUM or HIGH).
func (t *Transmitter) RiskLevelChanged(ctx context.Context, w storage.Writer, sess storage.Session, previous, current, reason string) error {
	at := t.now()
	p := map[string]any{"event_timestamp": unix(at), "principal": "SESSION", "current_level": current}
	if previous != "" {
		p["previous_level"] = previous
	}
	p["risk_reason"] = cmpOr(reason, "none")
	return t.emit(ctx, w, t.sessionEvent(EventRiskLevelChange, sess, p, at))
}

// ClientRiskLevelChanged queues CAEP risk-level-change for client clientID
// inside w: the highest level of its sessions moved from previous to
// current. The principal is USER: the client is the subject its tokens
// name (their sub), as in the user member of a session's subject.
func (t *Transmitter) ClientRiskLevelChanged(ctx context.Context, w storage.Writer, clientID, previous, current, reason string) error {
	at := t.now()
	p := map[string]any{"event_timestamp": unix(at), "principal": "USER", "current_level": current,
		"previous_level": previous, "risk_reason": cmpOr(reason, "none")}
	return t.emit(ctx, w, event{uri: EventRiskLevelChange, subject: clientSubject(t.cfg.Issuer, clientID),
		keys: []string{clientKey(clientID)}, payload: p, at: at})
}

// AssuranceRaised queues CAEP assurance-level-change for session sess
// inside w after its client proved itself again (a passed revalidation):
// from a bearer secret or an earlier proof to a fresh key-bound assertion.
func (t *Transmitter) AssuranceRaised(ctx context.Context, w storage.Writer, sess storage.Session) error {
	at := t.now()
	p := map[string]any{"event_timestamp": unix(at), "namespace": "RFC8176", "current_level": "hwk",
		"previous_level": "pwd", "change_direction": "increase", "initiating_entity": "policy"}
	return t.emit(ctx, w, t.sessionEvent(EventAssuranceLevelChange, sess, p, at))
}

// CredentialChanged queues CAEP credential-change for client clientID
// inside w: changeType is create, revoke, update or delete and credType a
// CAEP credential_type (e.g. x509, app, password for a client secret).
func (t *Transmitter) CredentialChanged(ctx context.Context, w storage.Writer, clientID, credType, changeType string) error {
	at := t.now()
	p := map[string]any{"event_timestamp": unix(at), "credential_type": credType, "change_type": changeType,
		"initiating_entity": "admin"}
	return t.emit(ctx, w, event{uri: EventCredentialChange, subject: clientSubject(t.cfg.Issuer, clientID),
		keys: []string{clientKey(clientID)}, payload: p, at: at})
}

// TokenClaimsChanged queues CAEP token-claims-change for client clientID
// inside w: claims are the new values of the claims its tokens carry.
func (t *Transmitter) TokenClaimsChanged(ctx context.Context, w storage.Writer, clientID string, claims map[string]any) error {
	at := t.now()
	p := map[string]any{"event_timestamp": unix(at), "claims": claims}
	return t.emit(ctx, w, event{uri: EventTokenClaimsChange, subject: clientSubject(t.cfg.Issuer, clientID),
		keys: []string{clientKey(clientID)}, payload: p, at: at})
}

func (t *Transmitter) sessionEvent(uri string, sess storage.Session, p map[string]any, at time.Time) event {
	return event{uri: uri, subject: sessionSubject(t.cfg.Issuer, sess.ID, sess.ClientID),
		keys: []string{sessionKey(sess.ID), clientKey(sess.ClientID)}, payload: p, at: at}
}

// emit addresses ev to every stream that wants it and appends one outbox
// entry per stream inside w. Disabled streams get nothing; paused streams
// keep their entries until enabled (SSF 1.0 §8.1.2).
func (t *Transmitter) emit(ctx context.Context, w storage.Writer, ev event) error {
	streams, err := w.ListStreams(ctx)
	if err != nil || len(streams) == 0 {
		return err
	}
	if ev.txn == "" {
		ev.txn = newID()
	}
	payload, err := json.Marshal(ev.payload)
	if err != nil {
		return fmt.Errorf("ssf: encode event: %w", err)
	}
	n := 0
	for _, st := range streams {
		if st.Status == storage.StreamDisabled || !slices.Contains(st.EventsDelivered, ev.uri) || !wantsSubject(st, ev.keys) {
			continue
		}
		if err := t.queue(ctx, w, st, ev, payload); err != nil {
			return err
		}
		n++
	}
	if n > 0 {
		t.kick.signal()
	}
	return nil
}

// queue appends the SET of ev for stream st to its outbox.
func (t *Transmitter) queue(ctx context.Context, w storage.Writer, st storage.Stream, ev event, payload json.RawMessage) error {
	now := t.now()
	c := Claims{Issuer: t.cfg.Issuer, Audience: st.Audience, IssuedAt: unix(now), JTI: newID(), TxN: ev.txn,
		TOE: unix(ev.at), SubID: ev.subject, Events: map[string]json.RawMessage{ev.uri: payload}}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("ssf: encode SET: %w", err)
	}
	return w.AppendOutbox(ctx, storage.OutboxEntry{StreamID: st.ID, JTI: c.JTI, Claims: b, CreatedAt: now,
		ExpiresAt: now.Add(t.cfg.Retention)})
}

// sign signs an outbox entry's claims with the key active now.
func (t *Transmitter) sign(e storage.OutboxEntry) (string, error) {
	return t.signer.Sign(TypSET, json.RawMessage(e.Claims))
}

// subjectKey and friends give canonical names to subjects, as streams
// record them (storage.Stream.Subjects).
func sessionKey(sid string) string { return "session:" + sid }
func clientKey(id string) string   { return "client:" + id }

// wantsSubject reports whether st takes events about any of keys: on a
// stream of every subject, unless one was removed; otherwise, if one was added.
func wantsSubject(st storage.Stream, keys []string) bool {
	listed := false
	for _, k := range keys {
		listed = listed || slices.Contains(st.Subjects, k)
	}
	return st.AllSubjects != listed
}

// broadcast wakes every waiter at once.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

// wait returns a channel closed by the next signal.
func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcast) signal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}
