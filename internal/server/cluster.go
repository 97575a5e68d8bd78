package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"time"

	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/postgres"
)

// sharedValues is a store holding cluster-wide values.
type sharedValues interface {
	SharedValue(ctx context.Context, name, init string) (string, error)
}

// adminDigestName names the cluster's admin-token digest.
const adminDigestName = "admin token sha256"

// sharedAdminDigest returns the digest of the cluster's admin token. The
// first instance to start generates the token, stores its SHA-256 in the
// database and writes the token to its own data directory's admin-token
// file (mode 0600); every instance accepts it by the digest. The token
// itself is never stored in the database or logged.
func sharedAdminDigest(ctx context.Context, store sharedValues, path string, log *slog.Logger) (string, error) {
	if tok, err := ReadSecretFile(path); err == nil {
		sum := sha256.Sum256([]byte(tok))
		return store.SharedValue(ctx, adminDigestName, hex.EncodeToString(sum[:]))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	tok := secret.Generate(adminTokenPrefix)
	sum := sha256.Sum256([]byte(tok))
	mine := hex.EncodeToString(sum[:])
	got, err := store.SharedValue(ctx, adminDigestName, mine)
	if err != nil || got != mine {
		return got, err
	}
	if err := writeSecretFile(path, tok); err != nil {
		return "", err
	}
	log.Info("cluster admin token created; every instance accepts it (set VIGIL_ADMIN_TOKEN to choose your own)", "path", path)
	return got, nil
}

// follow keeps this instance in step with the others through the store's
// change feed: a signing key added or retired elsewhere reloads the key
// ring, and facts recorded on a session elsewhere reach the risk engine.
func (in *Instance) follow(store *postgres.Store) {
	eng, _ := in.risk.(*risk.Engine)
	store.Feed().Subscribe(func(c postgres.Change) {
		switch c.Kind {
		case postgres.KindKey:
			in.reloadKeys()
		case postgres.KindSession:
			if eng != nil {
				in.restoreFacts(eng, c.Key)
			}
		}
	})
}

func (in *Instance) reloadKeys() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.keys.Reload(ctx); err != nil {
		in.log.Error("reloading signing keys after a change elsewhere failed", "err", err)
	}
}

// restoreFacts gives the engine the session's recorded facts. A session
// the engine does not hold is left alone: its first event here loads them
// (rehydrate.go), so instances do not each hold every changed session.
func (in *Instance) restoreFacts(eng *risk.Engine, sid string) {
	if !eng.Holds(sid) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := in.store.GetSession(ctx, sid)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			in.log.Warn("reading a session changed elsewhere failed", "sid", sid, "err", err)
		}
		return
	}
	eng.RestoreFacts(s.ID, s.ClientID, factsOf(s), s.Challenges, s.FailedChallenges)
}

func factsOf(s storage.Session) []risk.Reason {
	facts := make([]risk.Reason, 0, len(s.Facts))
	for _, f := range s.Facts {
		facts = append(facts, risk.Reason{Code: f.Code, Points: f.Points, Evidence: f.Detail})
	}
	return facts
}
