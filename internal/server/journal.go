package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// riskJournal keeps the risk engine's learned state across restarts. What
// decides security is durable elsewhere before any answer (facts on session
// records, terminations, refresh families); this journal holds what the
// engine learned (client baselines and recent-session memory), written
// atomically every maintenance pass and at shutdown, so a restart loses at
// most one pass of learning and never a security decision.
//
// On a shared store the journal is one row per client in the database
// instead of a file: each client's baseline and memory are written by the
// instance that owns the client (the one that learns them), every
// instance restores all of them when it starts, and a new owner reads a
// client's row when ownership moves.
type riskJournal struct {
	eng     *risk.Engine
	path    string
	shared  sharedState  // the single document of earlier versions; nil: the file at path
	clients clientStates // nil: the file at path

	mu    sync.Mutex
	saved map[string][sha256.Size]byte // what each client's row holds, by digest
}

// clientStates is a store that keeps one risk document per client.
type clientStates interface {
	ClientState(ctx context.Context) (map[string][]byte, error)
	SaveClientState(ctx context.Context, docs map[string][]byte) error
}

// sharedState is a store that keeps documents every instance reads.
type sharedState interface {
	LoadState(ctx context.Context, name string) ([]byte, error)
	SaveState(ctx context.Context, name string, doc []byte) error
}

// journalName names the journal's document on a shared store.
const journalName = "risk journal"

func newRiskJournal(eng *risk.Engine, dataDir string) *riskJournal {
	return &riskJournal{eng: eng, path: filepath.Join(dataDir, "risk-state.json")}
}

// restore loads the journal. Sessions' sticky facts are not read here: the
// server loads each session's on its first event (rehydrate.go), so a
// restart does not wait on the number of sessions.
func (j *riskJournal) restore(ctx context.Context, log *slog.Logger) error {
	if j.clients != nil {
		n, err := j.adoptRows(ctx, func(string) bool { return true }, log)
		if err != nil {
			return fmt.Errorf("risk journal: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
	if b, err := j.load(ctx); err == nil {
		var snap risk.Snapshot
		if err := json.Unmarshal(b, &snap); err != nil {
			log.Warn("risk journal unreadable; starting without learned baselines", "path", j.path, "err", err)
		} else if err := j.eng.Restore(snap); err != nil {
			log.Warn("risk journal not restored", "path", j.path, "err", err)
		}
	} else if !os.IsNotExist(err) && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("risk journal: %w", err)
	}
	log.Info("risk state restored; sessions are rehydrated on their first event")
	return nil
}

// save sweeps idle sessions (learning from the clean ones) and writes the
// journal: atomically to a file (a temporary file, fsynced, then renamed),
// or, on a shared store, the rows of the clients owns reports.
func (j *riskJournal) save(now time.Time, owns func(string) bool, log *slog.Logger) {
	j.eng.Sweep(now)
	if j.clients != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		j.share(ctx, owns, log)
		return
	}
	b, err := json.Marshal(j.eng.Snapshot())
	if err == nil {
		err = writeFileAtomic(j.path, b)
	}
	if err != nil {
		log.Error("writing the risk journal failed", "path", j.path, "err", err)
	}
}

func (j *riskJournal) load(ctx context.Context) ([]byte, error) {
	if j.shared != nil {
		return j.shared.LoadState(ctx, journalName)
	}
	return os.ReadFile(j.path)
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".risk-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// share writes the rows of the clients keep selects whose baseline or
// memory changed since this journal last wrote or read them.
func (j *riskJournal) share(ctx context.Context, keep func(string) bool, log *slog.Logger) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.saved == nil {
		j.saved = map[string][sha256.Size]byte{}
	}
	docs, sums := map[string][]byte{}, map[string][sha256.Size]byte{}
	for _, c := range j.eng.Snapshot().Clients {
		if !keep(c.ClientID) {
			continue
		}
		b, err := json.Marshal(c)
		if err != nil {
			log.Error("encoding a client's risk state failed", "client", c.ClientID, "err", err)
			continue
		}
		if sum := sha256.Sum256(b); sum != j.saved[c.ClientID] {
			docs[c.ClientID], sums[c.ClientID] = b, sum
		}
	}
	if err := j.clients.SaveClientState(ctx, docs); err != nil {
		log.Error("writing the clients' risk state failed", "clients", len(docs), "err", err)
		return
	}
	maps.Copy(j.saved, sums)
}

// adopt reads the rows of the clients want selects into the engine,
// replacing what it holds for them.
func (j *riskJournal) adopt(ctx context.Context, want func(string) bool, log *slog.Logger) {
	n, err := j.adoptRows(ctx, want, log)
	if err != nil {
		log.Error("reading the risk state of clients this instance now owns failed", "err", err)
		return
	}
	log.Info("took over the risk state of clients whose owner changed", "clients", n)
}

func (j *riskJournal) adoptRows(ctx context.Context, want func(string) bool, log *slog.Logger) (int, error) {
	rows, err := j.clients.ClientState(ctx)
	if err != nil {
		return 0, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.saved == nil {
		j.saved = map[string][sha256.Size]byte{}
	}
	snap := risk.Snapshot{Version: risk.SnapshotVersion}
	for id, b := range rows {
		var c risk.ClientSnapshot
		if !want(id) {
			continue
		}
		if err := json.Unmarshal(b, &c); err != nil || c.ClientID != id {
			log.Warn("a client's shared risk state is unreadable; it is learned again", "client", id, "err", err)
			continue
		}
		snap.Clients = append(snap.Clients, c)
		j.saved[id] = sha256.Sum256(b)
	}
	if err := j.eng.Restore(snap); err != nil {
		return 0, err
	}
	return len(snap.Clients), nil
}
