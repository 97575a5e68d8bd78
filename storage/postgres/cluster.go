package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-auth/vigil/storage"
)

// SharedValue returns the cluster-wide value name, first storing init if
// there is none: of several instances starting together, the first one's
// init wins and all return it.
func (s *Store) SharedValue(ctx context.Context, name, init string) (string, error) {
	if err := s.usable(ctx); err != nil {
		return "", err
	}
	var v string
	err := s.pool.QueryRow(ctx, `WITH ins AS (INSERT INTO cluster (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING RETURNING value)
		SELECT value FROM ins UNION ALL SELECT value FROM cluster WHERE name = $1 LIMIT 1`, name, init).Scan(&v)
	if err != nil {
		return "", dbErr(ctx, err)
	}
	return v, nil
}

// LoadState returns the shared document name (storage.ErrNotFound if none).
func (s *Store) LoadState(ctx context.Context, name string) ([]byte, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT doc FROM risk_state WHERE name = $1`, name).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: state %q: %w", name, storage.ErrNotFound)
	}
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	return doc, nil
}

// SaveState replaces the shared document name.
func (s *Store) SaveState(ctx context.Context, name string, doc []byte) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO risk_state (name, doc, updated) VALUES ($1, $2, now())
		ON CONFLICT (name) DO UPDATE SET doc = EXCLUDED.doc, updated = now()`, name, doc)
	if err != nil {
		return dbErr(ctx, err)
	}
	return nil
}
