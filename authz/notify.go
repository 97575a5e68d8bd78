package authz

import (
	"context"
	"errors"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// Notifier queues security events for the parties that subscribed to them
// (OpenID Shared Signals), inside the transaction that makes the change, so
// an event is queued exactly when its change is durable. ssf.Transmitter
// implements it.
type Notifier interface {
	// SessionRevoked reports that sess was terminated; initiator is admin,
	// policy or system (CAEP initiating_entity).
	SessionRevoked(ctx context.Context, w storage.Writer, sess storage.Session, initiator, reason string) error
	// AssuranceRaised reports that sess's client passed a revalidation.
	AssuranceRaised(ctx context.Context, w storage.Writer, sess storage.Session) error
}

// WithNotifier sets where security events are queued. The default queues nothing.
func WithNotifier(n Notifier) Option { return func(s *Server) { s.notify = n } }

// notifyRevoked queues session-revoked for sess when a Notifier is set.
func (s *Server) notifyRevoked(ctx context.Context, w storage.Writer, sess storage.Session, reason string, d risk.Decision) error {
	if s.notify == nil {
		return nil
	}
	initiator := "policy"
	if len(d.Reasons) > 0 && d.Reasons[0].Code == "admin.terminate" {
		initiator = "admin"
	}
	return s.notify.SessionRevoked(ctx, w, sess, initiator, reason)
}

// notifyEnded queues session-revoked for session sid, which its own client
// just left nothing to continue with (RFC 7009 revocation).
func (s *Server) notifyEnded(ctx context.Context, w storage.Writer, sid string) error {
	if s.notify == nil || sid == "" {
		return nil
	}
	sess, err := w.GetSession(ctx, sid)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.notify.SessionRevoked(ctx, w, sess, "user", "the client revoked its tokens")
}
