package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

func TestAuditQuery(t *testing.T) {
	e := newEnv(t)
	recs := []storage.AuditRecord{
		{At: t0, Type: "issue", ClientID: "a1", SessionID: "s1", Outcome: "issued"},
		{At: t0.Add(time.Minute), Type: "refuse", ClientID: "a2", SessionID: "s2", Outcome: "refused"},
		{At: t0.Add(2 * time.Minute), Type: "revoke", ClientID: "a1", SessionID: "s1", Outcome: "revoked"},
		{At: t0.Add(3 * time.Minute), Type: "terminate", ClientID: "a1", SessionID: "s3", Outcome: "terminated"},
	}
	err := e.store.Update(context.Background(), func(w storage.Writer) error {
		for _, r := range recs {
			if err := w.AppendAudit(context.Background(), r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.now = t0.Add(4 * time.Minute)
	tests := []struct {
		query string
		want  []string // outcomes, oldest first
	}{
		{"", []string{"issued", "refused", "revoked", "terminated"}},
		{"?client=a1", []string{"issued", "revoked", "terminated"}},
		{"?sid=s1", []string{"issued", "revoked"}},
		{"?client=a1&sid=s3", []string{"terminated"}},
		{"?since=" + url.QueryEscape(t0.Add(time.Minute).Format(time.RFC3339)), []string{"refused", "revoked", "terminated"}},
		{"?since=150s", []string{"revoked", "terminated"}},
		{"?limit=2", []string{"issued", "refused"}},
		{"?limit=2&order=newest", []string{"terminated", "revoked"}},
		{"?client=a1&order=oldest&limit=1", []string{"issued"}},
		{"?client=nobody", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := e.do("GET", "/admin/audit"+tt.query, nil).want(t, http.StatusOK).json(t)["records"].([]any)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records %v, want %v", len(got), got, tt.want)
			}
			for i, r := range got {
				if o := r.(map[string]any)["outcome"]; o != tt.want[i] {
					t.Errorf("record %d outcome %v, want %s", i, o, tt.want[i])
				}
			}
		})
	}
	for _, bad := range []string{"?limit=0", "?limit=x", "?limit=100001", "?since=yesterday", "?since=-1h", "?order=up"} {
		e.do("GET", "/admin/audit"+bad, nil).want(t, http.StatusBadRequest)
	}
	e.doAuth("GET", "/admin/audit", nil, "").want(t, http.StatusUnauthorized)
	e.do("POST", "/admin/audit", nil).want(t, http.StatusMethodNotAllowed)
}
