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
	// An event the owner did not answer within Timeout was judged locally:
	// on a loaded machine some are, and they are not a forward's cost.
	s := p.a.Stats()
	b.ReportMetric(float64(s.Degraded)/float64(s.Degraded+s.Forwarded), "degraded/op")
}
