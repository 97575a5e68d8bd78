package risk

import (
	"net/netip"
	"testing"
)

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

func TestKeyAddr(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"10.1.4.21", "10.1.4.0"}, {"198.51.100.7", "198.51.100.0"}, {"2001:db8:1:2::5", "2001:db8:1::"},
	} {
		if got := keyAddr(netKey(netip.MustParseAddr(tt.addr), 24)); got != netip.MustParseAddr(tt.want) {
			t.Errorf("keyAddr(netKey(%s, 24)) = %v, want %s", tt.addr, got, tt.want)
		}
	}
}
