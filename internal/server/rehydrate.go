package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// rehydrator loads a session's durable risk state (its sticky facts and
// challenge counts) into the engine on the session's first event after a
// restart, or after the engine evicted it for idleness, so a restart does
// not read every session and readiness does not depend on how many there
// are. A session the engine already holds costs one map lookup; a new
// session (client_credentials) costs nothing.
type rehydrator struct {
	eng     *risk.Engine
	store   storage.Reader
	log     *slog.Logger
	timeout time.Duration
}

// rehydrateTimeout bounds the read of one session's durable state.
const rehydrateTimeout = 5 * time.Second

func newRehydrator(r Risk, store storage.Reader, log *slog.Logger) *rehydrator {
	eng, ok := r.(*risk.Engine)
	if !ok || store == nil {
		return nil
	}
	return &rehydrator{eng: eng, store: store, log: log, timeout: rehydrateTimeout}
}

// ensure makes the engine hold ev's session's durable state. When that
// state cannot be read it returns false and a decision that denies the
// call: a session whose facts are unknown is not judged as clean.
func (r *rehydrator) ensure(ev risk.Event) (risk.Decision, bool) {
	if r == nil || ev.SessionID == "" || ev.Op == risk.OpToken || r.eng.Holds(ev.SessionID) {
		return risk.Decision{}, true // OpToken opens a new session: nothing durable yet
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	s, err := r.store.GetSession(ctx, ev.SessionID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return risk.Decision{}, true
	case err != nil:
		r.log.Error("reading a session's durable risk state failed; denying", "sid", ev.SessionID, "op", ev.Op, "err", err)
		return unavailable(), false
	}
	if len(s.Facts) > 0 || s.Challenges > 0 {
		r.eng.Rehydrate(s.ID, s.ClientID, factsOf(s), s.Challenges, s.FailedChallenges)
	}
	return risk.Decision{}, true
}

// unavailable is the decision for a call whose session's durable state
// could not be read. It is enforced even in report-only mode.
func unavailable() risk.Decision {
	return risk.Decision{Level: risk.LevelHigh, Action: risk.Deny, NoRefresh: true, Tier: 1, Reasons: []risk.Reason{{
		Code: risk.ReasonStateUnavailable, Evidence: "the session's durable risk state could not be read"}}}
}
