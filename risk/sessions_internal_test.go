package risk

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestSessionStoreChurn observes, forgets and sweeps sessions from several
// goroutines at once, so heads and slots are freed and reused under load,
// and checks that every session the engine still holds is its own: its id,
// client and call count intact.
func TestSessionStoreChurn(t *testing.T) {
	e, err := New(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	const workers, sessions = 4, 300
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range sessions {
				sid := fmt.Sprintf("w%d-s%d", w, i)
				client := fmt.Sprintf("c%d", i%5)
				for j := range 3 {
					e.Observe(Event{Op: OpExchange, At: at.Add(time.Duration(j) * time.Second), SessionID: sid, ClientID: client,
						IP: netip.AddrFrom4([4]byte{10, 0, byte(w), byte(j)}), Audience: "api", Resource: ResourceProfile{Sensitivity: 1},
						Tool: fmt.Sprintf("tool-%d", j)})
				}
				if i%3 == 0 {
					e.Forget(fmt.Sprintf("w%d-s%d", w, i/2))
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			e.Sweep(at.Add(-time.Hour)) // ends and drops nothing recent
		}
	})
	wg.Wait()
	held := 0
	for w := range workers {
		for i := range sessions {
			sid := fmt.Sprintf("w%d-s%d", w, i)
			st, ok := e.SessionState(sid)
			if !ok {
				continue
			}
			held++
			if st.ID != sid || st.ClientID != fmt.Sprintf("c%d", i%5) {
				t.Fatalf("session %s holds %s of %s", sid, st.ID, st.ClientID)
			}
		}
	}
	if held != e.Live() || held == 0 {
		t.Errorf("%d sessions found, engine says %d live", held, e.Live())
	}
	e.Sweep(at.Add(3 * time.Hour))
	e.Sweep(at.Add(3 * time.Hour))
	if n := e.Live(); n != 0 {
		t.Errorf("%d sessions left after two sweeps past the idle end", n)
	}
}
