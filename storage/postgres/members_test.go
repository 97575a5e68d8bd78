package postgres_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage/postgres"
)

func ids(ms []postgres.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID+" "+m.URL)
	}
	slices.Sort(out)
	return out
}

func TestHeartbeatListsLiveMembers(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := t.Context()
	if _, err := s.Heartbeat(ctx, "a", "http://a", time.Minute); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Heartbeat(ctx, "b", "http://b", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(ms), []string{"a http://a", "b http://b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}
	time.Sleep(50 * time.Millisecond)
	ms, err = s.Heartbeat(ctx, "b", "http://b2", 20*time.Millisecond) // a is silent longer than the expiry
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(ms), []string{"b http://b2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}
	if err := s.Leave(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	ms, err = s.Heartbeat(ctx, "a", "http://a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(ms), []string{"a http://a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after b left: members %v, want %v", got, want)
	}
}

func TestLeaseHasOneHolder(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := t.Context()
	steps := []struct {
		holder string
		ttl    time.Duration
		sleep  time.Duration
		want   bool
	}{
		{"a", 200 * time.Millisecond, 0, true},           // free: a takes it
		{"b", 200 * time.Millisecond, 0, false},          // held by a
		{"a", 200 * time.Millisecond, 0, true},           // a renews
		{"b", time.Minute, 300 * time.Millisecond, true}, // a's lease ran out: b takes it
		{"a", time.Minute, 0, false},
	}
	for i, st := range steps {
		time.Sleep(st.sleep)
		got, err := s.Lease(ctx, "job", st.holder, st.ttl)
		if err != nil {
			t.Fatal(err)
		}
		if got != st.want {
			t.Fatalf("step %d: %s holds = %v, want %v", i, st.holder, got, st.want)
		}
	}
	if got, err := s.Lease(ctx, "other job", "a", time.Minute); err != nil || !got {
		t.Fatalf("another job: %v %v", got, err)
	}
}

func TestClientStateRoundTrip(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := t.Context()
	if err := s.SaveClientState(ctx, map[string][]byte{"a": []byte(`{"v":1}`), "b": []byte(`{"v":2}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveClientState(ctx, map[string][]byte{"a": []byte(`{"v":3}`)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClientState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for id, doc := range got {
		out = append(out, id+"="+string(doc))
	}
	slices.Sort(out)
	if want := `a={"v":3} b={"v":2}`; strings.Join(out, " ") != want {
		t.Fatalf("client state %v, want %s", out, want)
	}
}
