package security

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/storage"
)

// The audit log records every security decision with its client and
// session, in the decision's own transaction, and is queryable by client
// and session through the admin API.

func auditTypes(recs []storage.AuditRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Type+":"+r.Outcome)
	}
	return out
}

func hasRecord(recs []storage.AuditRecord, typ, outcome, reasonPart string) bool {
	for _, r := range recs {
		if r.Type == typ && r.Outcome == outcome && strings.Contains(r.Reason+" "+r.Detail, reasonPart) {
			return true
		}
	}
	return false
}

func TestAudit_DecisionsRecorded(t *testing.T) {
	e := newEnv(t, withReportOnly())
	first := e.cc(t, "agent", "audience", rs1)
	sid := e.token(t, first.str("access_token")).SessionID
	e.refresh(t, "agent", first.str("refresh_token"))
	e.delegate(t, "actor1", first.str("access_token"), "audience", rs1)
	e.cc2(t, "agent", "scope", "secrets.read")                                                           // refused: invalid_scope
	e.exchange(t, "other", "subject_token", first.str("access_token"), "subject_token_type", typeAccess) // refused: a fact on sid
	e.revoke(t, "other", first.str("access_token"))                                                      // refused: not its token
	e.revoke(t, "agent", first.str("access_token"))
	e.admin(t, http.MethodPost, "/admin/sessions/"+sid+"/terminate", map[string]string{"reason": "incident 9"})

	agent := e.audit(t, storage.AuditFilter{ClientID: "agent"})
	for _, want := range []struct{ typ, outcome, part string }{
		{"issue", "issued", "grant=client_credentials"},
		{"refresh", "issued", "grant=refresh_token"},
		{"refuse", "refused", "invalid_scope"},
		{"revoke", "revoked", "access_token"},
		{"terminate", "terminated", "incident 9"},
		{"admin", "terminated", "incident 9"},
	} {
		if !hasRecord(agent, want.typ, want.outcome, want.part) {
			t.Errorf("no %s/%s record mentioning %q for agent; have %v", want.typ, want.outcome, want.part, auditTypes(agent))
		}
	}
	if !hasRecord(e.audit(t, storage.AuditFilter{ClientID: "actor1"}), "exchange", "issued", "act=actor1") {
		t.Error("no exchange record for the actor")
	}
	other := e.audit(t, storage.AuditFilter{ClientID: "other"})
	if !hasRecord(other, "refuse", "refused", "fact") || !hasRecord(other, "refuse", "refused", "unauthorized_client") {
		t.Errorf("refusals of other: %v", auditTypes(other))
	}
	// Everything about the session, whoever acted in it.
	bySession := e.audit(t, storage.AuditFilter{SessionID: sid})
	for _, r := range bySession {
		if r.SessionID != sid {
			t.Fatalf("session filter returned %+v", r)
		}
	}
	if len(bySession) < 6 {
		t.Errorf("session %s has %d records: %v", sid, len(bySession), auditTypes(bySession))
	}
	// The admin API answers the same questions.
	api := e.admin(t, http.MethodGet, "/admin/audit?sid="+sid+"&limit=1000", nil)
	if recs, _ := api.body["records"].([]any); api.status != 200 || len(recs) != len(bySession) {
		t.Errorf("GET /admin/audit?sid: %d, %d records, want %d", api.status, len(recs), len(bySession))
	}
}

// Failed client authentication is not audited one by one (it is throttled
// and counted instead); decisions that could not be committed leave no
// record.
func TestAudit_OnlyWhatHappened(t *testing.T) {
	e := newEnv(t, withReportOnly())
	before := len(e.audit(t, storage.AuditFilter{}))
	for range 5 {
		e.post(t, pathToken, form("grant_type", "client_credentials"), basic("agent", "wrong"))
	}
	at := e.cc(t, "agent", "audience", rs1).str("access_token")
	e.faults.set(faultCommit)
	e.cc2(t, "agent")
	e.revoke(t, "agent", at)
	e.faults.set(faultNone)
	recs := e.audit(t, storage.AuditFilter{})[before:]
	if len(recs) != 1 || recs[0].Type != "issue" {
		t.Fatalf("records after the failures: %v, want only the one successful issue", auditTypes(recs))
	}
}

// SECURITY.md D11: concurrent grants share bbolt commits, and a grant whose
// transaction fails (here: its session is terminated under it) makes the
// others of its batch run again. Each acknowledged grant still has exactly
// one audit record and one token, and a refused one has none.
func TestAudit_D11_OneRecordPerDecision(t *testing.T) {
	e := newEnv(t, withReportOnly())
	issued := map[string]bool{}
	for range 4 {
		subject := e.cc(t, "agent", "audience", rs1).str("access_token")
		sid := e.token(t, subject).SessionID
		rs := race(func(i int) result {
			if i == racers/2 {
				return e.admin(t, http.MethodPost, "/admin/sessions/"+sid+"/terminate", nil)
			}
			return e.exchange(t, "agent", "subject_token", subject, "subject_token_type", typeAccess, "audience", rs1)
		})
		for i, r := range rs {
			if i != racers/2 && r.status == 200 {
				issued[r.str("access_token")] = true
			}
		}
		recs := e.audit(t, storage.AuditFilter{SessionID: sid})
		n := 0
		for _, rec := range recs {
			if rec.Type == "exchange" && rec.Outcome == "issued" {
				n++
			}
		}
		want := 0
		for i, r := range rs {
			if i != racers/2 && r.status == 200 {
				want++
			}
		}
		if n != want {
			t.Fatalf("session %s: %d exchange records for %d acknowledged exchanges", sid, n, want)
		}
		toks, err := e.base.ListSessionTokens(context.Background(), sid)
		if err != nil {
			t.Fatal(err)
		}
		if len(toks) != 2+want { // the subject and its refresh token, plus one per exchange
			t.Fatalf("session %s: %d tokens for %d acknowledged exchanges", sid, len(toks), want)
		}
	}
	if len(issued) == 0 {
		t.Fatal("no exchange won the race against the termination: the test proves nothing")
	}
}
