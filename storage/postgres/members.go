package postgres

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Member is one live instance of the cluster: its id and the URL where the
// others reach it.
type Member struct {
	ID  string
	URL string
}

// memberRetention is how long a silent member's row is kept before a
// heartbeat of another removes it.
const memberRetention = 24 * time.Hour

// Heartbeat records that instance id, reachable at url, is alive now (by
// the database's clock, so the instances' clocks need not agree) and
// returns every member whose last heartbeat is younger than expiry, id
// included. Rows silent for a day are removed on the way.
func (s *Store) Heartbeat(ctx context.Context, id, url string, expiry time.Duration) ([]Member, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `WITH beat AS (INSERT INTO members (id, addr, heartbeat) VALUES ($1, $2, now())
			ON CONFLICT (id) DO UPDATE SET addr = EXCLUDED.addr, heartbeat = now() RETURNING id),
		gone AS (DELETE FROM members WHERE heartbeat < now() - make_interval(secs => $4) AND id <> $1)
		SELECT id, addr FROM members WHERE heartbeat > now() - make_interval(secs => $3) AND id <> $1`,
		id, url, expiry.Seconds(), memberRetention.Seconds())
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	others, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
		var m Member
		err := r.Scan(&m.ID, &m.URL)
		return m, err
	})
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	return append(others, Member{ID: id, URL: url}), nil
}

// Leave removes instance id from the members at once, so the others stop
// counting on it without waiting for its heartbeat to expire.
func (s *Store) Leave(ctx context.Context, id string) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM members WHERE id = $1`, id); err != nil {
		return dbErr(ctx, err)
	}
	return nil
}

// Lease gives the job name to holder for ttl, and reports whether holder
// has it: it takes the job when no one holds it or the lease expired, and
// extends it when holder already has it. Expiry is by the database's clock.
// A holder that dies loses the job when its lease runs out; no advisory
// lock is involved, so poolers in transaction mode work.
func (s *Store) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := s.usable(ctx); err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO leases (name, holder, expires) VALUES ($1, $2, now() + make_interval(secs => $3))
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires = EXCLUDED.expires
		WHERE leases.holder = EXCLUDED.holder OR leases.expires < now()`, name, holder, ttl.Seconds())
	if err != nil {
		return false, dbErr(ctx, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ClientState returns every client's shared risk document, by client id.
func (s *Store) ClientState(ctx context.Context) (map[string][]byte, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT client_id, doc FROM risk_clients`)
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	out := map[string][]byte{}
	var id string
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &doc}, func() error {
		out[id] = doc
		return nil
	})
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	return out, nil
}

// SaveClientState writes the risk documents of docs (by client id) in one
// transaction, replacing what was there.
func (s *Store) SaveClientState(ctx context.Context, docs map[string][]byte) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	if len(docs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, id := range slices.Sorted(maps.Keys(docs)) { // one order: two writers never deadlock
		b.Queue(`INSERT INTO risk_clients (client_id, doc, updated) VALUES ($1, $2, now())
			ON CONFLICT (client_id) DO UPDATE SET doc = EXCLUDED.doc, updated = now()`, id, docs[id])
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil {
		return dbErr(ctx, err)
	}
	return nil
}
