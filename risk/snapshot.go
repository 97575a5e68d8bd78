package risk

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// SnapshotVersion is the format version Snapshot writes and Restore reads.
const SnapshotVersion = 1

// Snapshot is a compact, JSON-encodable copy of every client's learned
// baseline and short-term memory, for journaling. Live sessions are not
// included: their durable facts come back through Rehydrate, on each
// session's first event.
type Snapshot struct {
	Version int              `json:"version"`
	Clients []ClientSnapshot `json:"clients"`
}

// ClientSnapshot is one client's learned state.
type ClientSnapshot struct {
	ClientID string   `json:"client_id"`
	Baseline Baseline `json:"baseline"`
	Memory   Memory   `json:"memory"`
}

// Snapshot copies every client's baseline and memory, ordered by client id.
// It locks one client at a time, so it is consistent per client, not across
// clients.
func (e *Engine) Snapshot() Snapshot {
	snap := Snapshot{Version: SnapshotVersion}
	for i := range e.clients {
		sh := &e.clients[i]
		sh.mu.Lock()
		for id, c := range sh.m {
			c.mu.Lock()
			snap.Clients = append(snap.Clients, ClientSnapshot{ClientID: id, Baseline: *c.base.Load().clone(), Memory: c.mem})
			c.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(snap.Clients, func(a, b ClientSnapshot) int { return strings.Compare(a.ClientID, b.ClientID) })
	return snap
}

// ErrSnapshotVersion reports a snapshot written in an unknown format.
var ErrSnapshotVersion = errors.New("risk: unsupported snapshot version")

// Restore loads the baselines and memories of snap, replacing those of the
// clients it names. It checks the whole snapshot before changing anything.
// Restoring a client again (a cluster instance taking a client over) is
// safe: the networks it shares with other clients are counted once.
func (e *Engine) Restore(snap Snapshot) error {
	if snap.Version != SnapshotVersion {
		return fmt.Errorf("%w: %d", ErrSnapshotVersion, snap.Version)
	}
	seen := make(map[string]bool, len(snap.Clients))
	var errs []error
	for _, cs := range snap.Clients {
		if cs.ClientID == "" || seen[cs.ClientID] {
			errs = append(errs, fmt.Errorf("risk: snapshot: empty or duplicate client id %q", cs.ClientID))
		}
		seen[cs.ClientID] = true
		if err := cs.Baseline.check(); err != nil {
			errs = append(errs, fmt.Errorf("risk: snapshot: client %q: %w", cs.ClientID, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, cs := range snap.Clients {
		c := e.client(cs.ClientID)
		b := cs.Baseline.clone()
		c.mu.Lock()
		old := c.base.Load()
		c.base.Store(b)
		c.mem = cs.Memory
		c.mu.Unlock()
		for _, n := range b.Nets {
			if lookup(old.Nets, n.Key) == 0 { // a client restored again counts its networks once
				e.peerAdd(n.Key)
			}
		}
	}
	return nil
}

// check verifies a restored baseline respects the bounds learning keeps.
func (b *Baseline) check() error {
	sizes := []struct {
		n, limit int
		name     string
	}{
		{len(b.Nets), capNets, "nets"}, {len(b.Auds), capAuds, "auds"}, {len(b.Scopes), capScopes, "scopes"},
		{len(b.Tenants), capTenants, "tenants"}, {len(b.Tools), capTools, "tools"}, {len(b.Trans), capTrans, "trans"},
		{len(b.Actors), capActors, "actors"},
	}
	for _, s := range sizes {
		if s.n > s.limit {
			return fmt.Errorf("%s holds %d entries, limit %d", s.name, s.n, s.limit)
		}
	}
	if b.Sessions < 0 {
		return errors.New("negative session count")
	}
	return nil
}
