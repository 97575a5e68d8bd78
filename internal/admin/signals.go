package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// Signaler delivers an external security event to the risk engine: about
// session sid, or about every active session of clientID. authz implements it.
type Signaler interface {
	Signal(ctx context.Context, sid, clientID string, sig risk.Signal) (map[string]risk.Decision, error)
}

// SignalInput is a CAEP-shaped security event about a client or a session
// (OpenID CAEP credential-change, session-revoked, risk-level-change).
type SignalInput struct {
	// Exactly one of SessionID and ClientID names the subject.
	SessionID string `json:"sid,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Type      string `json:"type"`
	// Level is the new risk level of a risk-level-change: low, medium or high.
	Level  string `json:"level,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// SignalOutcome is what one session's decision became.
type SignalOutcome struct {
	Level  risk.Level  `json:"level"`
	Score  int         `json:"score"`
	Action risk.Action `json:"action"`
}

func (in SignalInput) validate() error {
	var errs []error
	if (in.SessionID == "") == (in.ClientID == "") {
		errs = append(errs, errors.New("exactly one of sid and client_id is required"))
	}
	switch in.Type {
	case risk.SignalCredentialChange, risk.SignalSessionRevoked:
		if in.Level != "" {
			errs = append(errs, errors.New("level goes with risk-level-change only"))
		}
	case risk.SignalRiskLevelChange:
		if in.Level != "low" && in.Level != "medium" && in.Level != "high" {
			errs = append(errs, errors.New("level must be low, medium or high"))
		}
	default:
		errs = append(errs, errors.New("type must be credential-change, session-revoked or risk-level-change"))
	}
	if len(in.Reason) > MaxReasonLength {
		errs = append(errs, errors.New("reason is too long"))
	}
	return errors.Join(errs...)
}

// postSignal answers POST /admin/signals: the event reaches the risk engine
// for the named session or every active session of the named client, and
// the answer says what each session's decision became. A session-revoked
// event, or a decision to terminate, ends the session before the answer.
func (a *API) postSignal(w http.ResponseWriter, r *http.Request) {
	if a.d.Signals == nil {
		a.fail(w, r, notFound("signals are not enabled"))
		return
	}
	var in SignalInput
	if err := decodeBody(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := in.validate(); err != nil {
		a.fail(w, r, badRequest("%v", err))
		return
	}
	ds, err := a.d.Signals.Signal(r.Context(), in.SessionID, in.ClientID, risk.Signal{Type: in.Type, Level: in.Level})
	if errors.Is(err, storage.ErrNotFound) {
		a.fail(w, r, notFound("no such session"))
		return
	}
	if err != nil {
		a.fail(w, r, storeErr(err, "signal"))
		return
	}
	out := make(map[string]SignalOutcome, len(ds))
	for sid, d := range ds {
		out[sid] = SignalOutcome{Level: d.Level, Score: d.Score, Action: d.Action}
	}
	err = a.d.Store.Update(r.Context(), func(w storage.Writer) error {
		return a.auditIn(r.Context(), w, storage.AuditRecord{ClientID: in.ClientID, SessionID: in.SessionID,
			Outcome: "signal " + in.Type, Reason: in.Reason, Detail: in.Level})
	})
	if err != nil {
		a.d.Log.ErrorContext(r.Context(), "audit record for a signal failed", "err", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}
