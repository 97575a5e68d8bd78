package security

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// SECURITY.md §4.9: the HTTP surface. Cases 88 (grant_type, scope,
// subject_token), 89 (body size at the token endpoint) and 90 (password
// grant, JSON body, GET) are in conformance/protocol. Header timeouts and
// the header size limit of the shipped binary are in conformance/crash.
// #92 (plain HTTP) is a deployment rule: Vigil expects TLS to end in front
// of it and warns when its issuer is plain http off loopback.

var formEndpoints = []string{pathToken, pathIntrospect, pathRevoke, pathRevalidate}

// SECURITY.md #88: a parameter that may appear once appears once, at every
// endpoint.
func TestHTTP_88_NoRepeatedParameters(t *testing.T) {
	e := newEnv(t, withMemory())
	at := e.cc(t, "agent").str("access_token")
	for _, tt := range []struct {
		path string
		kv   []string
	}{
		{pathToken, []string{"grant_type", "client_credentials", "client_id", "agent", "client_id", "other", "client_secret", e.secrets["agent"]}},
		{pathToken, []string{"grant_type", "refresh_token", "refresh_token", "a", "refresh_token", "b"}},
		{pathIntrospect, []string{"token", at, "token", "other"}},
		{pathRevoke, []string{"token", at, "token", "other"}},
		{pathRevalidate, []string{"token", at, "token", "other"}},
	} {
		t.Run(tt.path+" "+tt.kv[len(tt.kv)-2], func(t *testing.T) {
			wantError(t, e.post(t, tt.path, form(tt.kv...), e.as("rs1")), 400, "invalid_request")
		})
	}
	wantActive(t, e.introspect(t, "rs1", at))
}

// SECURITY.md #89: body size, field count and value length are bounded at
// every form endpoint, before anything else happens.
func TestHTTP_89_FormLimits(t *testing.T) {
	e := newEnv(t, withMemory())
	many := strings.Repeat("x=1&", 10_000)
	long := "token=" + strings.Repeat("a", 17<<10)
	huge := "token=" + strings.Repeat("a", 10<<20)
	for _, path := range formEndpoints {
		t.Run(path, func(t *testing.T) {
			for name, tt := range map[string]struct {
				body   string
				status int
			}{
				"10,000 fields":     {many, 400},
				"a 17 KiB value":    {long, 400},
				"a 10 MiB body":     {huge, 413},
				"65 repeats of one": {strings.Repeat("resource=https://rs1.example&", 65), 400},
			} {
				r := e.postBody(t, path, tt.body, e.as("agent"))
				if r.status != tt.status || r.str("error") != "invalid_request" {
					t.Errorf("%s: got %d %.200s, want %d invalid_request", name, r.status, r.raw, tt.status)
				}
			}
		})
	}
	t.Run("admin JSON body", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.url+"/admin/clients", bytes.NewReader(append([]byte(`{"id":"x","purposes":["`),
			bytes.Repeat([]byte("a"), 1<<20)...)))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
}

// SECURITY.md #90: parameters and credentials in the query string are
// never read.
func TestHTTP_90_QueryStringIgnored(t *testing.T) {
	e := newEnv(t, withMemory())
	q := "?grant_type=client_credentials&client_id=agent&client_secret=" + e.secrets["agent"]
	wantError(t, e.postBody(t, pathToken+q, "", e.as("agent")), 400, "invalid_request")
	wantError(t, e.postBody(t, pathToken+q, "grant_type=client_credentials"), 401, "invalid_client")
	at := e.cc(t, "agent").str("access_token")
	wantError(t, e.postBody(t, pathIntrospect+"?token="+at, "", e.as("rs1")), 400, "invalid_request")
}

// flood sends n client_secret_basic failures for client id, from n source
// addresses (one each) unless source is set, and returns the statuses.
func flood(t *testing.T, e *env, id, source string, n int) []int {
	t.Helper()
	out := make([]int, n)
	for i := range n {
		addr := source
		if addr == "" {
			addr = fmt.Sprintf("10.%d.%d.%d:4000", 1+i/65536, i/256%256, i%256)
		}
		r := e.serve(t, pathToken, form("grant_type", "client_credentials"), basic(id, "vcs_guess-"+itoa(int64(i))+"-0123456789abcdefghijk"), from(addr))
		out[i] = r.status
		if r.status == 429 && (r.header.Get("Retry-After") == "" || r.str("error") != "temporarily_unavailable") {
			t.Fatalf("429 without Retry-After or with error %q: %s", r.str("error"), r.raw)
		}
		if r.status != 401 && r.status != 429 {
			t.Fatalf("failure %d answered %d %s", i, r.status, r.raw)
		}
	}
	return out
}

func firstIndex(xs []int, v int) int {
	for i, x := range xs {
		if x == v {
			return i
		}
	}
	return -1
}

// SECURITY.md #91 (RFC 6749 §2.3.1): failed authentication is throttled per
// client id and per source address, and the client that holds valid
// credentials is served throughout.
func TestHTTP_91_FailedAuthThrottled(t *testing.T) {
	t.Run("one client id from many addresses", func(t *testing.T) {
		e := newEnv(t, withMemory(), withReportOnly())
		statuses := flood(t, e, "agent", "", 200)
		first := firstIndex(statuses, 429)
		if first < 1 || first > 50 || firstIndex(statuses[first:], 401) >= 0 {
			t.Fatalf("statuses %v: want 401s, then only 429s", statuses)
		}
		// The legitimate client, from anywhere, is served in the middle of it.
		for _, addr := range []string{"10.200.0.1:5000", "10.0.0.1:4000"} {
			if r := e.serve(t, pathToken, form("grant_type", "client_credentials"), e.as("agent"), from(addr)); r.status != 200 {
				t.Fatalf("valid credentials from %s during the flood: %d %s", addr, r.status, r.raw)
			}
		}
		// An unknown id is throttled alike: the answers do not reveal which ids exist.
		ghost := flood(t, e, "no-such-client", "", 200)
		if fmt.Sprint(ghost) != fmt.Sprint(statuses) {
			t.Fatalf("unknown id answered differently:\n%v\n%v", ghost, statuses)
		}
		// Other clients are untouched, and the throttle lifts with time.
		if r := e.serve(t, pathToken, form("grant_type", "client_credentials"), basic("other", "wrong"), from("10.99.0.1:1")); r.status != 401 {
			t.Fatalf("another client's failure: %d", r.status)
		}
		e.clock.Advance(time.Minute)
		if got := flood(t, e, "agent", "", 1); got[0] != 401 {
			t.Fatalf("after a minute: %v", got)
		}
	})
	t.Run("one address trying many ids", func(t *testing.T) {
		e := newEnv(t, withMemory(), withReportOnly())
		var statuses []int
		for i := range 120 {
			statuses = append(statuses, flood(t, e, "guess-"+itoa(int64(i)), "10.66.0.1:7000", 1)[0])
		}
		if first := firstIndex(statuses, 429); first < 1 || first > 60 {
			t.Fatalf("statuses %v: want throttling after the source's budget", statuses)
		}
		if r := e.serve(t, pathToken, form("grant_type", "client_credentials"), e.as("agent"), from("10.66.0.1:7001")); r.status != 200 {
			t.Fatalf("valid secret from the throttled address: %d %s", r.status, r.raw)
		}
		a := e.assertion(t, "pkjwt", nil)
		if r := e.serve(t, pathToken, withAssertion(form("grant_type", "client_credentials"), a), from("10.66.0.1:7002")); r.status != 200 {
			t.Fatalf("valid assertion from the throttled address: %d %s", r.status, r.raw)
		}
		if r := e.serve(t, pathIntrospect, form("token", "x"), e.as("rs1"), from("10.66.0.1:7003")); r.status != 200 {
			t.Fatalf("valid resource server from the throttled address: %d %s", r.status, r.raw)
		}
	})
	t.Run("slow-hash secrets get no guesses while throttled", func(t *testing.T) {
		e := newEnv(t, withMemory(), withReportOnly(), withShortSecrets())
		ok := func(id, sec, addr string) result {
			return e.serve(t, pathToken, form("grant_type", "client_credentials"), basic(id, sec), from(addr))
		}
		if r := ok("short1", e.secrets["short1"], "10.1.0.1:1"); r.status != 200 {
			t.Fatalf("short1 before the flood: %d %s", r.status, r.raw)
		}
		for _, id := range []string{"short1", "short2"} {
			for i := range 40 { // empty secrets fail cheaply, and count
				e.serve(t, pathToken, form("grant_type", "client_credentials"), basic(id, ""), from(fmt.Sprintf("10.7.0.%d:1", i)))
			}
		}
		if r := ok("short1", e.secrets["short1"], "10.1.0.2:1"); r.status != 200 {
			t.Fatalf("short1, known good, during the flood: %d %s", r.status, r.raw)
		}
		if r := ok("short1", "pw-short-x", "10.1.0.3:1"); r.status != 429 {
			t.Fatalf("a guess for short1 during the flood was checked: %d %s", r.status, r.raw)
		}
		// short2 never authenticated since the start: its secret is not
		// checked until the flood subsides (the documented trade-off).
		if r := ok("short2", e.secrets["short2"], "10.1.0.4:1"); r.status != 429 {
			t.Fatalf("short2 during the flood: %d %s", r.status, r.raw)
		}
		e.clock.Advance(time.Minute)
		if r := ok("short2", e.secrets["short2"], "10.1.0.5:1"); r.status != 200 {
			t.Fatalf("short2 after the flood: %d %s", r.status, r.raw)
		}
	})
}
