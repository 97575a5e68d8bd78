package risk

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// sessionBudget is the heap a live session may hold (PERFORMANCE.md: a
// million live sessions in 1 GiB of RSS, page cache included).
const sessionBudget = 512

// mapEntryCost is what one entry of a shard's map[uint64]ref costs at
// worst: a 16-byte slot and its control byte, in a table just grown (half
// full).
const mapEntryCost = 2 * (16 + 1)

// TestSessionFootprint guards the per-session state: the head and the
// index hold no pointer (the collector does not scan a million sessions),
// and a session after a typical run of calls — head, index entry and
// encoded state rounded up to its slab class — stays within the budget.
func TestSessionFootprint(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[head](), reflect.TypeFor[ref](), reflect.TypeFor[uint64]()} {
		if p := pointerIn(typ); p != "" {
			t.Errorf("%s holds a pointer (%s): the collector would scan every session", typ, p)
		}
	}
	e, err := New(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	prof := ClientProfile{Kind: "agent", Audiences: []string{"https://api.example", "https://vault.example"}}
	for i := range 200 {
		sid := fmt.Sprintf("ses_%022d", i)
		ip := netip.AddrFrom4([4]byte{10, 1, byte(i % 7), 21})
		e.Observe(Event{Op: OpToken, At: at, SessionID: sid, ClientID: "agent-7", Client: prof, IP: ip})
		for j, tool := range []string{"search", "read_doc", "summarize", "read_secret"} {
			aud, sens := "https://api.example", 1
			if tool == "read_secret" {
				aud, sens = "https://vault.example", 3
			}
			e.Observe(Event{Op: OpExchange, At: at.Add(time.Duration(j+1) * time.Second), SessionID: sid, ClientID: "agent-7",
				Client: prof, IP: ip, Audience: aud, Resource: ResourceProfile{Sensitivity: sens}, Tool: tool, Scopes: []string{"read"}})
		}
	}
	worst := 0
	for i := range e.sessions {
		sh := &e.sessions[i]
		for _, chunk := range sh.heads.chunks {
			for j := range chunk {
				if h := &chunk[j]; h.used {
					worst = max(worst, classSizes[h.cls-1])
				}
			}
		}
	}
	cost := int(unsafe.Sizeof(head{})) + mapEntryCost + worst
	t.Logf("head %d B, index entry ≤ %d B, largest encoded state slot %d B: %d B per session", unsafe.Sizeof(head{}), mapEntryCost, worst, cost)
	if cost > sessionBudget {
		t.Errorf("a live session costs %d B, over the %d B budget", cost, sessionBudget)
	}
}

// pointerIn names a pointer-holding part of typ, or returns "".
func pointerIn(typ reflect.Type) string {
	switch typ.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Slice, reflect.String, reflect.Interface, reflect.Chan, reflect.Func:
		return typ.String()
	case reflect.Array:
		return pointerIn(typ.Elem())
	case reflect.Struct:
		for i := range typ.NumField() {
			if p := pointerIn(typ.Field(i).Type); p != "" {
				return typ.Field(i).Name + ": " + p
			}
		}
	}
	return ""
}

// TestStateSizes guards the per-client state (RISK.md: at most 8 KiB per
// baseline).
func TestStateSizes(t *testing.T) {
	full := Baseline{
		Nets: make([]entry, capNets), Auds: make([]entry, capAuds), Scopes: make([]entry, capScopes),
		Tenants: make([]entry, capTenants), Tools: make([]entry, capTools), Trans: make([]entry, capTrans), Actors: make([]entry, capActors),
		Flows: make([]entry, capFlows),
	}
	n := unsafe.Sizeof(full)
	for _, s := range [][]entry{full.Nets, full.Auds, full.Scopes, full.Tenants, full.Tools, full.Trans, full.Actors, full.Flows} {
		n += uintptr(cap(s)) * unsafe.Sizeof(entry{})
	}
	if n > 8<<10 {
		t.Errorf("a full baseline is %d bytes, over 8 KiB", n)
	}
	t.Logf("full baseline %d bytes", n)
}
