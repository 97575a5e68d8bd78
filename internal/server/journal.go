package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
// On a shared store the journal is a document in the database instead of a
// file, so that instances share what they learned: each saves its
// snapshot, and an instance starting restores the latest one.
type riskJournal struct {
	eng    *risk.Engine
	path   string
	shared sharedState // nil: the file at path
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

// restore loads the journal, then rebuilds every active session's sticky
// facts from storage.
func (j *riskJournal) restore(ctx context.Context, store storage.Reader, log *slog.Logger) error {
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
	sessions, err := store.ListSessions(ctx, storage.SessionFilter{Status: storage.SessionActive})
	if err != nil {
		return fmt.Errorf("risk journal: list sessions: %w", err)
	}
	for _, s := range sessions {
		facts := make([]risk.Reason, 0, len(s.Facts))
		for _, f := range s.Facts {
			facts = append(facts, risk.Reason{Code: f.Code, Points: f.Points, Evidence: f.Detail})
		}
		if len(facts) > 0 || s.Challenges > 0 {
			j.eng.RestoreFacts(s.ID, s.ClientID, facts, s.Challenges, s.FailedChallenges)
		}
	}
	log.Info("risk state restored", "active_sessions", len(sessions))
	return nil
}

// save sweeps idle sessions (learning from the clean ones) and writes the
// journal atomically: a temporary file, fsynced, then renamed.
func (j *riskJournal) save(now time.Time, log *slog.Logger) {
	j.eng.Sweep(now)
	b, err := json.Marshal(j.eng.Snapshot())
	if err == nil && j.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = j.shared.SaveState(ctx, journalName, b)
	} else if err == nil {
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
