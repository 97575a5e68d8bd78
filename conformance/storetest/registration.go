package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

func newInitialToken(id string) storage.InitialAccessToken {
	return storage.InitialAccessToken{ID: id, Description: "mcp agents", Kinds: []string{storage.KindAgent},
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"tickets.read"},
		Audiences: []string{"https://api"}, AuthMethods: []string{"private_key_jwt"}, MaxUses: 3, Uses: 1,
		ExpiresAt: at(time.Hour), CreatedAt: t0}
}

func newRegistration(clientID string) storage.Registration {
	return storage.Registration{ClientID: clientID, AccessTokenHash: "h-" + clientID, InitialTokenID: "iat-1",
		StatementIssuer: "https://iss", Metadata: json.RawMessage(`{"client_name":"agent"}`), CreatedAt: t0,
		UpdatedAt: at(time.Minute)}
}

// testRegistration covers the records of dynamic client registration:
// round trips inside and after the Update, order, replacement, copies,
// not found and delete.
func testRegistration(t *testing.T, s storage.Store) {
	ctx := context.Background()
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		for _, id := range []string{"iat-b", "iat-a"} {
			if err := w.PutInitialToken(ctx, newInitialToken(id)); err != nil {
				return err
			}
		}
		if got, err := w.GetInitialToken(ctx, "iat-a"); err != nil || !reflect.DeepEqual(got, newInitialToken("iat-a")) {
			t.Errorf("GetInitialToken in the Update = %+v, %v", got, err)
		}
		return w.PutRegistration(ctx, newRegistration("c1"))
	})
	if got, err := s.GetInitialToken(ctx, "iat-b"); err != nil || !reflect.DeepEqual(got, newInitialToken("iat-b")) {
		t.Errorf("GetInitialToken = %+v, %v; want %+v", got, err, newInitialToken("iat-b"))
	}
	list, err := s.ListInitialTokens(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "iat-a" || list[1].ID != "iat-b" {
		t.Errorf("ListInitialTokens = %+v, %v; want iat-a, iat-b", list, err)
	}
	if got, err := s.GetRegistration(ctx, "c1"); err != nil || !reflect.DeepEqual(got, newRegistration("c1")) {
		t.Errorf("GetRegistration = %+v, %v; want %+v", got, err, newRegistration("c1"))
	}
	used := newInitialToken("iat-a")
	used.Uses = 3
	update(t, s, func(ctx context.Context, w storage.Writer) error { return w.PutInitialToken(ctx, used) })
	got, err := s.GetInitialToken(ctx, "iat-a")
	if err != nil || got.Uses != 3 {
		t.Errorf("replaced initial token = %+v, %v; want 3 uses", got, err)
	}
	got.Scopes[0], list[0].Kinds[0] = "mutated", "mutated"
	if again, _ := s.GetInitialToken(ctx, "iat-a"); again.Scopes[0] != "tickets.read" || again.Kinds[0] != storage.KindAgent {
		t.Errorf("results alias the store: %+v", again)
	}
	reg, _ := s.GetRegistration(ctx, "c1")
	reg.Metadata[2] = 'X'
	if again, _ := s.GetRegistration(ctx, "c1"); string(again.Metadata) != `{"client_name":"agent"}` {
		t.Errorf("registration metadata aliases the store: %s", again.Metadata)
	}
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		return errors.Join(w.DeleteInitialToken(ctx, "iat-b"), w.DeleteRegistration(ctx, "c1"))
	})
	if _, err := s.GetInitialToken(ctx, "iat-b"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted initial token: %v, want ErrNotFound", err)
	}
	if _, err := s.GetRegistration(ctx, "c1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted registration: %v, want ErrNotFound", err)
	}
	err = s.Update(ctx, func(w storage.Writer) error {
		return errors.Join(w.DeleteInitialToken(ctx, "nope"), w.DeleteRegistration(ctx, "nope"))
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleting missing records: %v, want ErrNotFound", err)
	}
	if err := s.Update(ctx, func(w storage.Writer) error { return w.PutRegistration(ctx, storage.Registration{}) }); err == nil {
		t.Error("PutRegistration with an empty client id succeeded")
	}
}
