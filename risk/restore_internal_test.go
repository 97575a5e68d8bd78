package risk

import "testing"

// TestRestoreAgainCountsNetworksOnce: an instance that takes a client over
// restores it again; the networks its baseline shares with other clients
// must not count twice, or they would look more widely vouched for.
func TestRestoreAgainCountsNetworksOnce(t *testing.T) {
	e, err := New(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	const k = 0xabcdef
	snap := func(ids ...string) Snapshot {
		s := Snapshot{Version: SnapshotVersion}
		for _, id := range ids {
			s.Clients = append(s.Clients, ClientSnapshot{ClientID: id, Baseline: Baseline{Nets: []entry{{Key: k, Count: 2}}}})
		}
		return s
	}
	for _, s := range []Snapshot{snap("a", "b"), snap("a"), snap("a", "b")} {
		if err := e.Restore(s); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.peerCount(k); n != 2 {
		t.Fatalf("network counted for %d clients, want 2", n)
	}
}
