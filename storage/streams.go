package storage

import (
	"context"
	"encoding/json"
	"time"
)

// Stream delivery methods (OpenID Shared Signals Framework 1.0 §7.1.1).
const (
	DeliveryPush = "urn:ietf:rfc:8935"
	DeliveryPoll = "urn:ietf:rfc:8936"
)

// Stream status values (SSF 1.0 §7.1.2).
const (
	StreamEnabled  = "enabled"
	StreamPaused   = "paused"
	StreamDisabled = "disabled"
)

// Stream is a Shared Signals event stream that Vigil transmits to one
// receiver. The transmitter owns the meaning of Subjects (canonical keys of
// the subjects added to the stream); the store only keeps them.
type Stream struct {
	ID string `json:"stream_id"`
	// ClientID is the registered client (the receiver) that owns the stream.
	ClientID        string   `json:"client_id"`
	Audience        []string `json:"aud,omitempty"`
	EventsRequested []string `json:"events_requested,omitempty"`
	EventsDelivered []string `json:"events_delivered,omitempty"`
	// Method is DeliveryPush or DeliveryPoll.
	Method string `json:"method"`
	// EndpointURL is where SETs are pushed (push delivery only).
	EndpointURL string `json:"endpoint_url,omitempty"`
	// AuthorizationHeader is sent with every push, as the receiver asked.
	AuthorizationHeader string `json:"authorization_header,omitempty"`
	Description         string `json:"description,omitempty"`
	Status              string `json:"status"`
	StatusReason        string `json:"status_reason,omitempty"`
	// AllSubjects is true when every subject's events go to the stream;
	// otherwise only those of Subjects do.
	AllSubjects bool      `json:"all_subjects,omitempty"`
	Subjects    []string  `json:"subjects,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// OutboxEntry is one Security Event Token waiting for delivery on a stream:
// its claims, unsigned (they are signed when sent, with the key active
// then). It leaves the outbox when the receiver acknowledges it (RFC 8935
// §2.2, RFC 8936 §2.4) or when it expires.
type OutboxEntry struct {
	StreamID string `json:"stream_id"`
	// Seq orders a stream's entries; the store assigns it, increasing.
	Seq       uint64          `json:"seq"`
	JTI       string          `json:"jti"`
	Claims    json.RawMessage `json:"claims"`
	CreatedAt time.Time       `json:"created_at"`
	// ExpiresAt is when the entry may be dropped undelivered; zero never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// StreamReader reads streams and their outboxes; Reader embeds it.
type StreamReader interface {
	// GetStream returns stream id, or ErrNotFound.
	GetStream(ctx context.Context, id string) (Stream, error)
	// ListStreams returns every stream, ordered by ID.
	ListStreams(ctx context.Context) ([]Stream, error)
	// ListOutbox returns up to limit (0: all) entries of stream id in Seq
	// order, expired ones included.
	ListOutbox(ctx context.Context, streamID string, limit int) ([]OutboxEntry, error)
}

// StreamWriter changes streams and outboxes; Writer embeds it.
type StreamWriter interface {
	// PutStream creates or replaces stream s.ID.
	PutStream(ctx context.Context, s Stream) error
	// DeleteStream removes stream id and its whole outbox, or returns ErrNotFound.
	DeleteStream(ctx context.Context, id string) error
	// AppendOutbox appends e to its stream's outbox and assigns e.Seq,
	// greater than every Seq the store assigned before. The stream must
	// exist (ErrNotFound otherwise).
	AppendOutbox(ctx context.Context, e OutboxEntry) error
	// DeleteOutbox removes entry seq of stream streamID, or returns ErrNotFound.
	DeleteOutbox(ctx context.Context, streamID string, seq uint64) error
}

// IssuerSSF is how Vigil receives Shared Signals from a trusted issuer: it
// accepts SETs the issuer signs (with the issuer's jwks or jwks_uri) pushed
// to Vigil's push endpoint, and polls PollURL when it is set (RFC 8936).
type IssuerSSF struct {
	// Audience is the aud the SETs must carry; empty means Vigil's issuer URL.
	Audience string `json:"audience,omitempty"`
	// Events lists the event types accepted; empty means every type Vigil maps.
	Events []string `json:"events,omitempty"`
	// MaxAge is how old (by iat) a SET may be when it arrives; 0 means 1h.
	MaxAge Duration `json:"max_age,omitempty"`
	// PushAuthorization, when set, is the Authorization header every SET
	// the issuer pushes must carry (the authorization_header Vigil gave the
	// issuer's stream); a push without it is refused (authentication_failed).
	PushAuthorization string `json:"push_authorization,omitempty"`
	// PollURL is the issuer's poll endpoint for Vigil's stream, if polled.
	PollURL string `json:"poll_url,omitempty"`
	// PollAuthorization is the Authorization header value sent with each poll.
	PollAuthorization string `json:"poll_authorization,omitempty"`
	// PollInterval is the wait between polls; 0 means 5s.
	PollInterval Duration `json:"poll_interval,omitempty"`
}
