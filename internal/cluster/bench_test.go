package cluster

import (
	"testing"
	"time"
)

// BenchmarkForward measures one risk event sent to its owner over loopback
// HTTP (keep-alive, both MACs checked) and its decision read back: the
// inline cost a non-owner adds to a request. The owner's engine is a
// stand-in, so engine time is not included.
func BenchmarkForward(b *testing.B) {
	p := newPair(b)
	ev := fullEvent()
	ev.ClientID = clientOwnedBy(b, p.a.ring, "b")
	ev.At = time.Time{}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p.now = p.now.Add(time.Microsecond)
		p.a.Observe(ev)
	}
	b.StopTimer()
	if s := p.a.Stats(); s.Degraded != 0 {
		b.Fatalf("%d events judged away from their owner", s.Degraded)
	}
}
