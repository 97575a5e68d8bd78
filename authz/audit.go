package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// The authority's security decisions go to the append-only audit log
// (storage.AuditRecord), queryable by client and session through the admin
// API. A decision that changes state is recorded in the same transaction as
// the change, so the log never claims what did not happen and never misses
// what did: issuance, exchange and refresh in the grant's transaction,
// revocations and terminations in theirs, risk decisions with the facts they
// record. A refusal changes nothing else, so it is recorded in a transaction
// of its own after the answer is decided; when that write fails the refusal
// still stands and the failure is logged. Records name clients, sessions,
// scopes, audiences, actors and reasons; they never hold a secret, a token
// or a token's identifier.
//
// Failed client authentication is not recorded here (see ratelimit.go), nor
// are DPoP nonce challenges, which are part of the normal DPoP exchange.

// Audit record types the authority writes (storage.AuditRecord.Type).
const (
	AuditIssue     = "issue"
	AuditExchange  = "exchange"
	AuditRefresh   = "refresh"
	AuditRefuse    = "refuse"
	AuditRevoke    = "revoke"
	AuditTerminate = "terminate"
	AuditDecision  = "decision"
)

// maxAuditText bounds the free-text fields of a record.
const maxAuditText = 256

// grantAudit is the record of a successful grant.
func grantAudit(req *tokenRequest, g grant) storage.AuditRecord {
	typ := AuditIssue
	switch g.eventType {
	case "exchange":
		typ = AuditExchange
	case "refresh", "refresh_repeat":
		typ = AuditRefresh
	}
	d := "grant=" + req.grant + " auth=" + req.caller.method + " " + detail(g)
	if g.refresh {
		d += " refresh_token"
	}
	if g.jkt != "" {
		d += " dpop"
	}
	return storage.AuditRecord{At: g.now, Type: typ, ClientID: req.caller.client.ID, SessionID: g.session.ID,
		Outcome: "issued", Reason: riskSummary(g.decision), Detail: clip(d)}
}

// riskSummary describes the risk decision a grant was judged with.
func riskSummary(d risk.Decision) string {
	if d.Action == "" {
		return ""
	}
	s := fmt.Sprintf("risk %s %s score %d", d.Level, d.Action, d.Score)
	if d.ReportOnly {
		s += " (report only)"
	}
	return s
}

// auditRefusal records a refused request of an authenticated client in its
// own transaction. It skips answers that are not decisions: DPoP nonce
// challenges, throttling, failures of the store and internal errors.
func (s *Server) auditRefusal(ctx context.Context, clientID, sid, op string, err error) {
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		return
	}
	switch oe.Code {
	case oauth.UseDPoPNonce, oauth.TemporarilyUnavailable, oauth.ServerError:
		return
	}
	rec := storage.AuditRecord{At: s.now(), Type: AuditRefuse, ClientID: clientID, SessionID: sid, Outcome: "refused",
		Reason: clip(oe.Code + ": " + oe.Description), Detail: "op=" + op}
	if err := s.store.Update(ctx, func(w storage.Writer) error { return w.AppendAudit(ctx, rec) }); err != nil {
		s.log.ErrorContext(ctx, "audit: recording a refusal failed", "client_id", clientID, "err", err)
	}
}

// factAudit is the record of a refusal that also put a risk fact on the
// subject's session; it is written with the fact.
func factAudit(req *tokenRequest, sid, fact, evidence string, now time.Time) storage.AuditRecord {
	return storage.AuditRecord{At: now, Type: AuditRefuse, ClientID: req.caller.client.ID, SessionID: sid,
		Outcome: "refused", Reason: clip("fact " + fact + ": " + evidence), Detail: "op=" + req.grant}
}

// revokeAudit is the record of a revocation of t and n tokens derived from it.
func revokeAudit(t storage.Token, n int, now time.Time) storage.AuditRecord {
	return storage.AuditRecord{At: now, Type: AuditRevoke, ClientID: t.ClientID, SessionID: t.SessionID,
		Outcome: "revoked", Detail: fmt.Sprintf("%s and %d derived", t.Kind, n)}
}

// terminateAudit is the record of a session's termination, with the number
// of tokens it revoked.
func terminateAudit(sess storage.Session, reason string, n int, now time.Time) storage.AuditRecord {
	return storage.AuditRecord{At: now, Type: AuditTerminate, ClientID: sess.ClientID, SessionID: sess.ID,
		Outcome: "terminated", Reason: clip(reason), Detail: fmt.Sprintf("%d tokens revoked", n)}
}

// decisionAudit is the record of a risk decision on a session outside a
// grant (revalidation, a shared signal).
func decisionAudit(sess storage.Session, typ, clientID string, d risk.Decision, now time.Time) storage.AuditRecord {
	if clientID == "" {
		clientID = sess.ClientID
	}
	codes := make([]string, 0, len(d.Reasons))
	for _, r := range d.Reasons {
		codes = append(codes, r.Code)
	}
	return storage.AuditRecord{At: now, Type: AuditDecision, ClientID: clientID, SessionID: sess.ID,
		Outcome: orDefault(string(d.Action), string(risk.Allow)), Reason: clip(strings.Join(codes, " ")),
		Detail: clip(typ + " " + riskSummary(d))}
}

// clip bounds a free-text audit field.
func clip(s string) string {
	if len(s) <= maxAuditText {
		return s
	}
	return s[:maxAuditText] + "…"
}
