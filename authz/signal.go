package authz

import (
	"context"
	"fmt"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// Signal delivers an external security event (shaped like the CAEP events
// credential-change, session-revoked and risk-level-change) to the risk
// engine: about one session when sid is set, else about every active session
// of client clientID. Each session's decision is recorded on its timeline,
// and sessions the decision terminates are terminated durably before Signal
// returns. It returns the decisions by session ID.
func (s *Server) Signal(ctx context.Context, sid, clientID string, sig risk.Signal) (map[string]risk.Decision, error) {
	sids := []string{sid}
	if sid == "" {
		list, err := s.store.ListSessions(ctx, storage.SessionFilter{ClientID: clientID, Status: storage.SessionActive})
		if err != nil {
			return nil, fmt.Errorf("authz: signal: %w", err)
		}
		sids = sids[:0]
		for _, x := range list {
			sids = append(sids, x.ID)
		}
	}
	out := make(map[string]risk.Decision, len(sids))
	for _, id := range sids {
		d, err := s.signalSession(ctx, id, sig)
		if err != nil {
			return out, err
		}
		out[id] = d
	}
	return out, nil
}

func (s *Server) signalSession(ctx context.Context, sid string, sig risk.Signal) (risk.Decision, error) {
	sess, err := s.store.GetSession(ctx, sid)
	if err != nil {
		return risk.Decision{}, fmt.Errorf("authz: signal session %s: %w", sid, err)
	}
	c, err := s.store.GetClient(ctx, sess.ClientID)
	if err != nil {
		c = storage.Client{ID: sess.ClientID}
	}
	ev := s.event(ctx, risk.OpSignal, sid, c, nil)
	ev.Signal = &sig
	d := s.observe(ctx, ev)
	if sig.Type == "session-revoked" {
		d.Action, d.ReportOnly = risk.Terminate, false
	}
	return d, s.recordDecision(ctx, sid, "signal:"+sig.Type, "", d, false)
}
