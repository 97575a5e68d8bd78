// Package storage defines the records Vigil persists and the contract every
// backend must meet. It imports nothing from this module and no third-party
// library. Backends live in subpackages (bolt, memory); the suite in
// conformance/storetest verifies each of them.
package storage

import (
	"context"
	"errors"
	"time"
)

// Errors every backend returns, possibly wrapped. Compare with errors.Is.
var (
	// ErrNotFound reports that no record has the requested key.
	ErrNotFound = errors.New("storage: not found")
	// ErrAlreadyExists reports that a create found a live record with the same key.
	ErrAlreadyExists = errors.New("storage: already exists")
	// ErrUnavailable reports that the backend cannot read or write right now
	// (disk full, closed store, I/O failure). Callers answer 503, never success.
	ErrUnavailable = errors.New("storage: unavailable")
)

// Reader reads records. Every method takes ctx first; implementations check
// ctx.Err() before blocking. Results are copies: mutating them never changes
// the store.
type Reader interface {
	RegistrationReader
	// GetClient returns the client with the given id, or ErrNotFound.
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns every client, ordered by ID.
	ListClients(ctx context.Context) ([]Client, error)
	// GetResource returns the resource with the given audience, or ErrNotFound.
	GetResource(ctx context.Context, audience string) (Resource, error)
	// ListResources returns every resource, ordered by audience.
	ListResources(ctx context.Context) ([]Resource, error)
	// GetIssuer returns the trusted external issuer with the given issuer URL, or ErrNotFound.
	GetIssuer(ctx context.Context, issuer string) (Issuer, error)
	// ListIssuers returns every trusted external issuer, ordered by issuer URL.
	ListIssuers(ctx context.Context) ([]Issuer, error)
	// GetSession returns the session with the given id, or ErrNotFound.
	GetSession(ctx context.Context, id string) (Session, error)
	// ListSessions returns the sessions matching f, newest first.
	ListSessions(ctx context.Context, f SessionFilter) ([]Session, error)
	// GetToken returns the token with the given ID (the hash of its value), or ErrNotFound.
	GetToken(ctx context.Context, id string) (Token, error)
	// ListSessionTokens returns every token of session sid, oldest first.
	ListSessionTokens(ctx context.Context, sid string) ([]Token, error)
	// ListEvents returns the events of session sid in the order they were appended.
	ListEvents(ctx context.Context, sid string) ([]Event, error)
	// ListKeys returns every signing key, oldest first.
	ListKeys(ctx context.Context) ([]Key, error)
	// ListAudit returns audit records matching f, oldest first (newest
	// first when f.Newest).
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditRecord, error)
	StreamReader
}

// Writer changes records inside one transaction started by [Store.Update].
// Reads through a Writer see the transaction's own earlier writes.
type Writer interface {
	Reader
	RegistrationWriter
	// PutClient creates or replaces the client c.ID.
	PutClient(ctx context.Context, c Client) error
	// DeleteClient removes client id, or returns ErrNotFound.
	DeleteClient(ctx context.Context, id string) error
	// PutResource creates or replaces the resource r.Audience.
	PutResource(ctx context.Context, r Resource) error
	// DeleteResource removes the resource, or returns ErrNotFound.
	DeleteResource(ctx context.Context, audience string) error
	// PutIssuer creates or replaces the trusted issuer i.Issuer.
	PutIssuer(ctx context.Context, i Issuer) error
	// DeleteIssuer removes the issuer, or returns ErrNotFound.
	DeleteIssuer(ctx context.Context, issuer string) error
	// CreateSession stores a new session, or returns ErrAlreadyExists.
	CreateSession(ctx context.Context, s Session) error
	// PutSession replaces an existing session, or returns ErrNotFound.
	PutSession(ctx context.Context, s Session) error
	// CreateToken stores a new token, or returns ErrAlreadyExists. The token's
	// session, if set, must exist (ErrNotFound otherwise).
	CreateToken(ctx context.Context, t Token) error
	// PutToken replaces an existing token, or returns ErrNotFound.
	PutToken(ctx context.Context, t Token) error
	// UseJTI records a single-use identifier (client assertion or DPoP proof
	// jti) until exp. It returns ErrAlreadyExists if key is already recorded
	// and not yet expired at now.
	UseJTI(ctx context.Context, key string, exp, now time.Time) error
	// AppendEvent appends e to its session's timeline; Seq is assigned by the store.
	AppendEvent(ctx context.Context, e Event) error
	// PutKey creates or replaces the signing key k.ID.
	PutKey(ctx context.Context, k Key) error
	// AppendAudit appends r to the audit log; Seq is assigned by the store.
	AppendAudit(ctx context.Context, r AuditRecord) error
	StreamWriter
}

// Store is the whole backend contract. Single reads run in their own read
// transaction; Update runs a read-write transaction.
//
// Implementations are safe for concurrent use.
type Store interface {
	Reader
	// Update runs fn in one atomic, durable transaction: when Update returns
	// nil every write is on stable storage; when fn returns an error nothing
	// is written and that error is returned (wrapped or not). Concurrent
	// Updates may share one commit, so fn may run more than once and must
	// have no side effects outside w.
	Update(ctx context.Context, fn func(w Writer) error) error
	// DeleteExpired removes tokens, sessions, single-use identifiers,
	// events and outbox entries that expired before now (minus the backend's retention), and
	// returns how many records it removed.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
	// Close releases the store. Calls after Close return ErrUnavailable.
	Close() error
}
