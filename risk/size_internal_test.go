package risk

import (
	"testing"
	"unsafe"
)

// TestStateSizes guards the fixed part of the per-session and per-client
// state (RISK.md: at most 2 KiB per live session, 8 KiB per baseline).
func TestStateSizes(t *testing.T) {
	if n := unsafe.Sizeof(session{}); n > 1536 {
		t.Errorf("session is %d bytes; keep it under 1536 so a live session with its map entry and evidence fits 2 KiB", n)
	}
	full := Baseline{
		Nets: make([]entry, capNets), Auds: make([]entry, capAuds), Scopes: make([]entry, capScopes),
		Tenants: make([]entry, capTenants), Tools: make([]entry, capTools), Trans: make([]entry, capTrans), Actors: make([]entry, capActors),
	}
	n := unsafe.Sizeof(full)
	for _, s := range [][]entry{full.Nets, full.Auds, full.Scopes, full.Tenants, full.Tools, full.Trans, full.Actors} {
		n += uintptr(cap(s)) * unsafe.Sizeof(entry{})
	}
	if n > 8<<10 {
		t.Errorf("a full baseline is %d bytes, over 8 KiB", n)
	}
	t.Logf("session %d bytes, full baseline %d bytes", unsafe.Sizeof(session{}), n)
}
