package main

import (
	"testing"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/admin/apicheck"
)

// TestAdminClient_MatchesDescription holds the CLI's admin API bodies to
// the API's OpenAPI description: each type's JSON fields and its schema's
// properties must be the same set.
func TestAdminClient_MatchesDescription(t *testing.T) {
	doc, err := apicheck.Parse(admin.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]any{
		"ClientList":       clientList{},
		"ResourceList":     resourceList{},
		"IssuerList":       issuerList{},
		"SessionList":      sessionList{},
		"KeyList":          keyList{},
		"TerminateRequest": terminateBody{},
		"SignalInput":      admin.SignalInput{},
		"SessionDetail":    admin.SessionDetail{},
		"AuditList":        admin.AuditOutput{},
	}
	for name, v := range types {
		t.Run(name, func(t *testing.T) {
			for _, d := range doc.Compare(name, v) {
				t.Error(d)
			}
		})
	}
}

// TestAdminClient_FieldFlagsAreDescribed checks that every field flag of
// create and update sets a property the request schema has. (The other
// way round, every property can be set with -f FILE; flags cover the
// common ones.)
func TestAdminClient_FieldFlagsAreDescribed(t *testing.T) {
	doc, err := apicheck.Parse(admin.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		schema string
		fields []field
	}{
		{"ClientInput", clientFields},
		{"ResourceInput", resourceFields},
		{"IssuerInput", issuerFields},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			for _, f := range tt.fields {
				ok, err := doc.Has(tt.schema, f.key)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					t.Errorf("--%s sets %q, which %s does not have", f.flag, f.key, tt.schema)
				}
			}
		})
	}
}
