package storetest

import (
	"encoding/json"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// The fixtures below fill every field, so a backend that drops one fails
// the round trips. Each call returns fresh memory.

func newClient(id string) storage.Client {
	return storage.Client{
		ID:              id,
		Kind:            storage.KindAgent,
		SecretHash:      "hmac-sha256$abc",
		JWKS:            json.RawMessage(`{"keys":[{"kty":"EC","crv":"P-256","x":"AQ","y":"Ag"}]}`),
		JWKSURI:         "https://agent.example/jwks",
		GrantTypes:      []string{"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"},
		Scopes:          []string{"read", "write"},
		Audiences:       []string{"https://api.example"},
		Introspect:      []string{"https://api.example"},
		TokenFormat:     "jwt",
		AccessTokenTTL:  storage.Duration(5 * time.Minute),
		RefreshTokenTTL: storage.Duration(time.Hour),
		ExchangeTTL:     storage.Duration(2 * time.Minute),
		MayAct:          []string{"orchestrator"},
		Impersonation:   true,
		Schedule:        &storage.Schedule{Days: "Mon-Fri", Hours: "08:00-18:00", TZ: "Europe/Paris"},
		Networks:        []string{"10.0.0.0/8"},
		Purposes:        []string{"billing"},
		DPoP:            true,
		Disabled:        true,
		AssertionCompat: &storage.AssertionCompat{TokenEndpointAudience: true, MaxLifetime: storage.Duration(30 * time.Minute)},
		Source:          storage.SourceConfig,
		CreatedAt:       t0,
		UpdatedAt:       at(time.Minute),
	}
}

func newResource(aud string) storage.Resource {
	return storage.Resource{
		Audience:    aud,
		Sensitivity: 3,
		Tenant:      "acme",
		Tactic:      "collection",
		MaxTTL:      storage.Duration(10 * time.Minute),
		Source:      storage.SourceConfig,
		CreatedAt:   t0,
		UpdatedAt:   at(time.Second),
	}
}

func newIssuer(iss string) storage.Issuer {
	return storage.Issuer{
		Issuer:     iss,
		JWKS:       json.RawMessage(`{"keys":[]}`),
		JWKSURI:    iss + "/keys",
		Algorithms: []string{"RS256", "ES256"},
		Audience:   "vigil",
		Subjects:   []storage.SubjectMapping{{Subject: "system:serviceaccount:ci:*", ClientID: "ci"}},
		Scopes:     []string{"deploy"},
		Audiences:  []string{"https://deploy.example"},
		Source:     storage.SourceConfig,
		CreatedAt:  t0,
		UpdatedAt:  at(time.Hour),
	}
}

func newSession(id, client string, created time.Time) storage.Session {
	return storage.Session{
		ID:               id,
		ClientID:         client,
		Subject:          "agent-7",
		Origin:           "192.0.2.10",
		CreatedAt:        created,
		ExpiresAt:        created.Add(24 * time.Hour),
		Status:           storage.SessionActive,
		TerminatedAt:     created.Add(time.Hour),
		Reason:           "none yet",
		JKT:              "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
		Issuer:           "https://k8s.example",
		Facts:            []storage.Fact{{Code: "ip_drift", Points: 20, At: created, Detail: "AS64500"}},
		Challenges:       1,
		FailedChallenges: 2,
	}
}

func newToken(id, sid string, issued time.Time) storage.Token {
	return storage.Token{
		ID:          id,
		Kind:        storage.AccessToken,
		Format:      "opaque",
		ClientID:    "c1",
		Subject:     "agent-7",
		SessionID:   sid,
		ParentID:    "parent",
		FamilyID:    "family",
		Scopes:      []string{"read"},
		Audiences:   []string{"https://api.example"},
		Actors:      []string{"orchestrator", "planner"},
		MayAct:      []string{"helper"},
		JKT:         "jkt",
		IssuedAt:    issued,
		NotBefore:   issued,
		ExpiresAt:   issued.Add(time.Hour),
		RevokedAt:   issued.Add(time.Minute),
		RotatedAt:   issued.Add(2 * time.Minute),
		SuccessorID: "next",
	}
}

func newEvent(sid, detail string) storage.Event {
	return storage.Event{
		SessionID: sid,
		At:        t0,
		Type:      "signal",
		ClientID:  "c1",
		Detail:    detail,
		Score:     40,
		Level:     "medium",
		Action:    "step_up",
		Reasons:   []storage.Reason{{Code: "velocity", Points: 40, Evidence: "90 req/min"}},
	}
}

func newKey(id string, created time.Time) storage.Key {
	return storage.Key{
		ID:           id,
		Alg:          "ES256",
		Private:      []byte{1, 2, 3, 0, 255},
		Public:       []byte(`{"kty":"EC"}`),
		CreatedAt:    created,
		RetiredAt:    created.Add(time.Hour),
		PublishUntil: created.Add(2 * time.Hour),
	}
}

func newAudit(client, sid string, when time.Time) storage.AuditRecord {
	return storage.AuditRecord{
		At:        when,
		Type:      "issue",
		ClientID:  client,
		SessionID: sid,
		Outcome:   "granted",
		Reason:    "policy",
		Detail:    "scope=read",
		Actor:     "alice",
	}
}
