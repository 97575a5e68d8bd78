package bolt

import (
	"context"

	"github.com/vigil-auth/vigil/storage"
)

// Buckets of dynamic client registration (listed in allBuckets).
var (
	bucketInitialTokens = []byte("initial_tokens") // id
	bucketRegistrations = []byte("registrations")  // client id
)

// GetInitialToken implements storage.Reader.
func (r txn) GetInitialToken(ctx context.Context, id string) (storage.InitialAccessToken, error) {
	return getRecord[storage.InitialAccessToken](ctx, r, bucketInitialTokens, "initial access token", id)
}

// ListInitialTokens implements storage.Reader.
func (r txn) ListInitialTokens(ctx context.Context) ([]storage.InitialAccessToken, error) {
	return listRecords[storage.InitialAccessToken](ctx, r, bucketInitialTokens, "initial access token")
}

// GetRegistration implements storage.Reader.
func (r txn) GetRegistration(ctx context.Context, clientID string) (storage.Registration, error) {
	return getRecord[storage.Registration](ctx, r, bucketRegistrations, "registration", clientID)
}

// PutInitialToken implements storage.Writer.
func (r txn) PutInitialToken(ctx context.Context, t storage.InitialAccessToken) error {
	return r.putRecord(ctx, bucketInitialTokens, "initial access token", []byte(t.ID), t)
}

// DeleteInitialToken implements storage.Writer.
func (r txn) DeleteInitialToken(ctx context.Context, id string) error {
	return r.deleteRecord(ctx, bucketInitialTokens, "initial access token", id)
}

// PutRegistration implements storage.Writer.
func (r txn) PutRegistration(ctx context.Context, reg storage.Registration) error {
	return r.putRecord(ctx, bucketRegistrations, "registration", []byte(reg.ClientID), reg)
}

// DeleteRegistration implements storage.Writer.
func (r txn) DeleteRegistration(ctx context.Context, clientID string) error {
	return r.deleteRecord(ctx, bucketRegistrations, "registration", clientID)
}

// GetInitialToken returns the initial access token, or an error matching storage.ErrNotFound.
func (s *Store) GetInitialToken(ctx context.Context, id string) (storage.InitialAccessToken, error) {
	return read(ctx, s, func(r txn) (storage.InitialAccessToken, error) { return r.GetInitialToken(ctx, id) })
}

// ListInitialTokens returns every initial access token ordered by ID.
func (s *Store) ListInitialTokens(ctx context.Context) ([]storage.InitialAccessToken, error) {
	return read(ctx, s, func(r txn) ([]storage.InitialAccessToken, error) { return r.ListInitialTokens(ctx) })
}

// GetRegistration returns the registration of a client, or an error matching storage.ErrNotFound.
func (s *Store) GetRegistration(ctx context.Context, clientID string) (storage.Registration, error) {
	return read(ctx, s, func(r txn) (storage.Registration, error) { return r.GetRegistration(ctx, clientID) })
}
