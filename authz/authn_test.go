package authz

import (
	"context"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

// countingSecrets counts verifications; no secret matches.
type countingSecrets struct{ n atomic.Int32 }

func (c *countingSecrets) Verify(string, string) error {
	c.n.Add(1)
	return plainSecrets{}.Verify("", "never")
}

// SECURITY.md #2, without a stopwatch: an unknown client id, a disabled
// client and a wrong secret each cost exactly one secret verification, so
// the work done does not tell them apart.
func TestUnknownClientCostsOneVerification(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	err := st.Update(ctx, func(w storage.Writer) error {
		if err := w.PutClient(ctx, storage.Client{ID: "known", Kind: "service", SecretHash: "hmac-sha256$x"}); err != nil {
			return err
		}
		return w.PutClient(ctx, storage.Client{ID: "off", Kind: "service", SecretHash: "hmac-sha256$x", Disabled: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	sv := &countingSecrets{}
	s, err := New(Config{Issuer: "https://vigil.example", RefreshKey: make([]byte, 32)}, st, noSigner{}, acceptAll{}, sv, allowAll{},
		WithClock(func() time.Time { return fuzzNow }))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"known", "unknown", "off"} {
		sv.n.Store(0)
		r := httptest.NewRequest("POST", "/oauth2/token", nil)
		r.SetBasicAuth(id, "wrong-secret")
		if _, err := s.authenticate(ctx, r, url.Values{}); err == nil {
			t.Fatalf("%s authenticated with a wrong secret", id)
		}
		if got := sv.n.Load(); got != 1 {
			t.Errorf("%s: %d verifications, want 1", id, got)
		}
	}
}
