package rs

import (
	"net/http"
	"testing"
)

// BenchmarkAuthorize_Cached is the hot path: a bearer token whose allowing
// verdict is cached.
func BenchmarkAuthorize_Cached(b *testing.B) {
	e := newEnv(b, nil)
	e.as.set("tok-1", active(e.clock.Now(), nil))
	r := request("Bearer tok-1")
	if _, err := e.m.Authorize(r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.m.Authorize(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthorize_Introspect introspects on every call (cache off),
// against a loopback fake.
func BenchmarkAuthorize_Introspect(b *testing.B) {
	e := newEnv(b, nil, WithCache(0, 0))
	e.as.set("tok-1", active(e.clock.Now(), nil))
	r := request("Bearer tok-1")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.m.Authorize(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthorize_DPoP verifies a fresh DPoP proof per call on a cached
// verdict (proof signing is outside the timer).
func BenchmarkAuthorize_DPoP(b *testing.B) {
	e := newEnv(b, nil)
	e.as.set("tok-1", active(e.clock.Now(), map[string]any{"cnf": map[string]string{"jkt": e.p.jkt}}))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		r := request("DPoP tok-1", e.p.proof(b, http.MethodGet, resourceURL, "tok-1", e.clock.Now(), nil))
		b.StartTimer()
		if _, err := e.m.Authorize(r); err != nil {
			b.Fatal(err)
		}
	}
}
