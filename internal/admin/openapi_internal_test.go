package admin

import (
	"testing"

	"github.com/vigil-auth/vigil/internal/admin/apicheck"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// TestOpenAPI_WireTypesMatchSchemas holds every type the admin API decodes
// or encodes to the description's schema for it, both ways.
func TestOpenAPI_WireTypesMatchSchemas(t *testing.T) {
	doc, err := apicheck.Parse(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]any{
		"ClientRecord":      ClientOutput{},
		"ClientInput":       ClientInput{},
		"Schedule":          storage.Schedule{},
		"AssertionCompat":   storage.AssertionCompat{},
		"Resource":          storage.Resource{},
		"ResourceInput":     storage.Resource{},
		"Issuer":            storage.Issuer{},
		"IssuerInput":       storage.Issuer{},
		"IssuerSSF":         storage.IssuerSSF{},
		"SubjectMapping":    storage.SubjectMapping{},
		"Session":           SessionOutput{},
		"SessionDetail":     SessionDetail{},
		"Fact":              storage.Fact{},
		"Token":             storage.Token{},
		"Event":             storage.Event{},
		"Reason":            storage.Reason{},
		"TerminateRequest":  terminateRequest{},
		"SignalInput":       SignalInput{},
		"SignalOutcome":     SignalOutcome{},
		"PolicyState":       PolicyOutput{},
		"Policy":            risk.Policy{},
		"PolicyMode":        policyMode{},
		"Key":               KeyOutput{},
		"AuditRecord":       storage.AuditRecord{},
		"AuditList":         AuditOutput{},
		"InitialTokenInput": InitialTokenInput{},
		"InitialToken":      InitialTokenOutput{},
		"ReloadResult":      ReloadOutput{},
	}
	for name, v := range types {
		t.Run(name, func(t *testing.T) {
			for _, d := range doc.Compare(name, v) {
				t.Error(d)
			}
		})
	}
}
