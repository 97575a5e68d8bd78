package rs

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestMiddleware_Cache(t *testing.T) {
	const tok = "tok-1"
	type step struct {
		advance    time.Duration
		tool       string
		ip         string
		token      string
		wantStatus int
		wantCalls  int32 // cumulative introspection calls after the step
	}
	tests := []struct {
		name   string
		answer func(now time.Time) map[string]any
		steps  []step
	}{
		{name: "allow is reused for the same token and context", answer: func(n time.Time) map[string]any { return active(n, nil) },
			steps: []step{{wantStatus: 200, wantCalls: 1}, {wantStatus: 200, wantCalls: 1}, {advance: 9 * time.Second, wantStatus: 200, wantCalls: 1}}},
		{name: "reuse ends after the ttl", answer: func(n time.Time) map[string]any { return active(n, nil) },
			steps: []step{{wantStatus: 200, wantCalls: 1}, {advance: 10 * time.Second, wantStatus: 200, wantCalls: 2}}},
		{name: "another tool is judged again", answer: func(n time.Time) map[string]any { return active(n, nil) },
			steps: []step{{tool: "tickets.get", wantStatus: 200, wantCalls: 1}, {tool: "tickets.comment", wantStatus: 200, wantCalls: 2},
				{tool: "tickets.get", wantStatus: 200, wantCalls: 2}}},
		{name: "another address is judged again", answer: func(n time.Time) map[string]any { return active(n, nil) },
			steps: []step{{ip: "192.0.2.7:1", wantStatus: 200, wantCalls: 1}, {ip: "198.51.100.9:1", wantStatus: 200, wantCalls: 2},
				{ip: "192.0.2.7:2", wantStatus: 200, wantCalls: 2}}},
		{name: "another token is judged again", answer: func(n time.Time) map[string]any { return active(n, nil) },
			steps: []step{{wantStatus: 200, wantCalls: 1}, {token: "tok-2", wantStatus: 401, wantCalls: 2}}},
		{name: "never past the token's expiry",
			answer: func(n time.Time) map[string]any {
				return active(n, map[string]any{"exp": n.Add(3 * time.Second).Unix()})
			},
			steps: []step{{wantStatus: 200, wantCalls: 1}, {advance: 2 * time.Second, wantStatus: 200, wantCalls: 1}, {advance: time.Second, wantStatus: 401, wantCalls: 2}}},
		{name: "step up is not cached",
			answer: func(n time.Time) map[string]any { return active(n, map[string]any{"risk": verdict("step_up", "")}) },
			steps:  []step{{wantStatus: 401, wantCalls: 1}, {wantStatus: 401, wantCalls: 2}}},
		{name: "deny is not cached",
			answer: func(n time.Time) map[string]any { return active(n, map[string]any{"risk": verdict("deny", "")}) },
			steps:  []step{{wantStatus: 403, wantCalls: 1}, {wantStatus: 403, wantCalls: 2}}},
		{name: "no verdict is not cached",
			answer: func(n time.Time) map[string]any { return active(n, map[string]any{"risk": nil}) },
			steps:  []step{{wantStatus: 200, wantCalls: 1}, {wantStatus: 200, wantCalls: 2}}},
		{name: "inactive is not cached", answer: func(time.Time) map[string]any { return map[string]any{"active": false} },
			steps: []step{{wantStatus: 401, wantCalls: 1}, {wantStatus: 401, wantCalls: 2}}},
		{name: "scope is checked on a cached verdict",
			answer: func(n time.Time) map[string]any { return active(n, map[string]any{"scope": "kb.read"}) },
			steps:  []step{{wantStatus: 403, wantCalls: 1}, {wantStatus: 403, wantCalls: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.as.set(tok, tt.answer(e.clock.Now()))
			for i, s := range tt.steps {
				e.clock.Advance(s.advance)
				token := tok
				if s.token != "" {
					token = s.token
				}
				r := request("Bearer " + token)
				r.Header.Set("X-Tool", s.tool)
				if s.ip != "" {
					r.RemoteAddr = s.ip
				}
				w := e.serve(r)
				if w.Code != s.wantStatus || e.as.calls.Load() != s.wantCalls {
					t.Fatalf("step %d: status %d, calls %d; want %d, %d", i, w.Code, e.as.calls.Load(), s.wantStatus, s.wantCalls)
				}
			}
		})
	}
}

func TestMiddleware_CacheIsBounded(t *testing.T) {
	e := newEnv(t, nil, WithCache(3, time.Minute))
	for i := range 10 {
		tok := fmt.Sprintf("tok-%d", i)
		e.as.set(tok, active(e.clock.Now(), nil))
		if w := e.serve(request("Bearer " + tok)); w.Code != http.StatusOK {
			t.Fatalf("%s: %d", tok, w.Code)
		}
		if n := e.m.cache.len(); n > 3 {
			t.Fatalf("cache holds %d entries, bound is 3", n)
		}
	}
	if w := e.serve(request("Bearer tok-9")); w.Code != 200 || e.as.calls.Load() != 10 {
		t.Errorf("most recent token was not cached: calls %d", e.as.calls.Load())
	}
	if w := e.serve(request("Bearer tok-0")); w.Code != 200 || e.as.calls.Load() != 11 {
		t.Errorf("oldest token was not evicted: calls %d", e.as.calls.Load())
	}
}

func TestLRU_EvictsLeastRecentlyUsed(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newLRU(2)
	a, b, d := keyFor("a", usage{}), keyFor("b", usage{}), keyFor("d", usage{})
	c.put(a, Claims{Subject: "a"}, now.Add(time.Minute))
	c.put(b, Claims{Subject: "b"}, now.Add(time.Minute))
	if _, ok := c.get(a, now); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	c.put(d, Claims{Subject: "d"}, now.Add(time.Minute))
	if _, ok := c.get(b, now); ok {
		t.Error("b survived, but it was the least recently used")
	}
	if got, ok := c.get(a, now); !ok || got.Subject != "a" {
		t.Error("a was evicted")
	}
	if _, ok := c.get(d, now.Add(time.Minute)); ok {
		t.Error("d was returned at its expiry")
	}
	if c.len() != 1 {
		t.Errorf("expired entry kept: len %d", c.len())
	}
	var off *lru = newLRU(0)
	off.put(a, Claims{}, now.Add(time.Minute))
	if _, ok := off.get(a, now); ok {
		t.Error("a zero-size cache cached")
	}
}
