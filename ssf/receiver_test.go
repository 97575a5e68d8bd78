package ssf

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

const idp = "https://idp.example"

// jwksVerifier verifies with the issuer's inline JWK Set, as Vigil does.
type jwksVerifier struct{}

func (jwksVerifier) VerifySET(_ context.Context, raw string, iss storage.Issuer, out any) (string, error) {
	h, err := keys.VerifyWithJWKS(raw, iss.JWKS, iss.Algorithms, out)
	return h.Type, err
}

// recorder is a Signaler that records what it was asked.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) Signal(_ context.Context, sid, clientID string, sig risk.Signal) (map[string]risk.Decision, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, sid+"|"+clientID+"|"+sig.Type+"|"+sig.Level)
	return nil, nil
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func idpKey(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/idp-key.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publicJWKS is the JWK Set of a private JWK.
func publicJWKS(t *testing.T, priv []byte) []byte {
	var k map[string]any
	if err := json.Unmarshal(priv, &k); err != nil {
		t.Fatal(err)
	}
	delete(k, "d")
	b, _ := json.Marshal(map[string]any{"keys": []any{k}})
	return b
}

// otherKey is a fresh P-256 private JWK with the same kid as the IdP's.
func otherKey(t *testing.T) []byte {
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	ecdh, _ := pk.ECDH()
	raw := ecdh.PublicKey().Bytes() // 0x04 || X || Y
	d, _ := ecdh.Bytes(), 0
	b, _ := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "kid": "ci-demo-1", "alg": "ES256",
		"x": enc(raw[1:33]), "y": enc(raw[33:]), "d": enc(d)})
	return b
}

type rcvEnv struct {
	rc    *Receiver
	sig   *recorder
	store storage.Store
	now   time.Time
}

func newRcvEnv(t *testing.T) *rcvEnv {
	t.Helper()
	store := memory.New()
	now := time.Now().UTC().Truncate(time.Second)
	err := store.Update(t.Context(), func(w storage.Writer) error {
		if err := w.PutIssuer(t.Context(), storage.Issuer{Issuer: idp, JWKS: publicJWKS(t, idpKey(t)), Audience: "vigil",
			Subjects: []storage.SubjectMapping{{Subject: "svc-a", ClientID: "client-a"}, {Subject: "repo:*", ClientID: "builder"}},
			SSF:      &storage.IssuerSSF{}}); err != nil {
			return err
		}
		for _, s := range []storage.Session{
			{ID: "ext-1", ClientID: "builder", Subject: "repo:x", Issuer: idp},
			{ID: "ext-2", ClientID: "builder", Subject: "repo:y", Issuer: idp},
			{ID: "own-1", ClientID: "client-a", Subject: "client-a"},
		} {
			s.Status, s.CreatedAt, s.ExpiresAt = storage.SessionActive, now, now.Add(time.Hour)
			if err := w.CreateSession(t.Context(), s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sig := &recorder{}
	rc := NewReceiver(testIssuer, store, jwksVerifier{}, sig, nil, func() time.Time { return now })
	return &rcvEnv{rc: rc, sig: sig, store: store, now: now}
}

// set builds claims for one event about subj, then lets edit change them.
func (e *rcvEnv) set(uri string, event map[string]any, subj *Subject, edit func(map[string]any)) map[string]any {
	c := map[string]any{"iss": idp, "aud": testIssuer, "iat": e.now.Unix(), "jti": newID(),
		"sub_id": subj, "events": map[string]any{uri: event}}
	if edit != nil {
		edit(c)
	}
	return c
}

func sign(t *testing.T, key []byte, typ string, claims any) string {
	t.Helper()
	s, err := keys.SignWithJWK(key, typ, claims)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func push(rc *Receiver, contentType, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, PathEvents, strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	rc.Push(w, r)
	return w
}

func TestReceiverMapsEvents(t *testing.T) {
	tests := []struct {
		name  string
		uri   string
		event map[string]any
		subj  *Subject
		want  []string
	}{
		{"CAEP session-revoked of a session the issuer opened", EventSessionRevoked, map[string]any{"event_timestamp": 1},
			&Subject{Format: FormatComplex, Session: &Subject{Format: FormatOpaque, ID: "ext-1"}}, []string{"ext-1||session-revoked|"}},
		{"a session the issuer did not open is not touched", EventSessionRevoked, nil,
			&Subject{Format: FormatComplex, Session: &Subject{Format: FormatOpaque, ID: "own-1"}}, nil},
		{"RISC account-disabled of an exactly mapped subject: the whole client", EventAccountDisabled, nil,
			&Subject{Format: FormatIssSub, Iss: idp, Sub: "svc-a"}, []string{"|client-a|session-revoked|"}},
		{"CAEP credential-change of a prefix-mapped subject: its sessions", EventCredentialChange, map[string]any{"credential_type": "x509", "change_type": "revoke"},
			&Subject{Format: FormatIssSub, Iss: idp, Sub: "repo:y"}, []string{"ext-2||credential-change|"}},
		{"RISC credential-compromise", EventCredentialCompromise, map[string]any{"credential_type": "password"},
			&Subject{Format: FormatOpaque, ID: "svc-a"}, []string{"|client-a|credential-change|"}},
		{"CAEP risk-level-change", EventRiskLevelChange, map[string]any{"current_level": "HIGH", "principal": "USER"},
			&Subject{Format: FormatIssSub, Iss: idp, Sub: "svc-a"}, []string{"|client-a|risk-level-change|high"}},
		{"verification is accepted and changes nothing", EventVerification, map[string]any{"state": "x"},
			&Subject{Format: FormatOpaque, ID: "stream"}, nil},
		{"an unknown subject is accepted and changes nothing", EventSessionRevoked, nil,
			&Subject{Format: FormatIssSub, Iss: idp, Sub: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRcvEnv(t)
			w := push(e.rc, ContentTypeSET, sign(t, idpKey(t), TypSET, e.set(tt.uri, tt.event, tt.subj, nil)))
			if w.Code != http.StatusAccepted {
				t.Fatalf("push = %d %s", w.Code, w.Body)
			}
			if got := e.sig.list(); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("signals = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReceiverRefuses(t *testing.T) {
	revoked := &Subject{Format: FormatComplex, Session: &Subject{Format: FormatOpaque, ID: "ext-1"}}
	with := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	tests := []struct {
		name        string
		contentType string
		body        func(t *testing.T, e *rcvEnv) string
		code        string
	}{
		{"malformed", ContentTypeSET, func(*testing.T, *rcvEnv) string { return "not.a-jws" }, ErrInvalidRequest},
		{"wrong content type", "application/json", func(t *testing.T, e *rcvEnv) string {
			return sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, nil))
		}, ErrInvalidRequest},
		{"wrongly signed", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			return sign(t, otherKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, nil))
		}, ErrInvalidKey},
		{"unknown issuer", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			return sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, with("iss", "https://evil.example")))
		}, ErrInvalidIssuer},
		{"wrong audience", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			return sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, with("aud", "https://other.example")))
		}, ErrInvalidAudience},
		{"expired", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			return sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, with("iat", e.now.Add(-2*time.Hour).Unix())))
		}, ErrInvalidRequest},
		{"exp passed", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			return sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, with("exp", e.now.Add(-time.Minute).Unix())))
		}, ErrInvalidRequest},
		{"issued in the future", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			return sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, with("iat", e.now.Add(time.Hour).Unix())))
		}, ErrInvalidRequest},
		{"no jti", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			return sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, func(c map[string]any) { delete(c, "jti") }))
		}, ErrInvalidRequest},
		{"typ JWT", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			return sign(t, idpKey(t), "JWT", e.set(EventSessionRevoked, nil, revoked, nil))
		}, ErrInvalidRequest},
		{"unknown event type", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			return sign(t, idpKey(t), TypSET, e.set("https://example.com/event/boom", nil, revoked, nil))
		}, ErrInvalidRequest},
		{"two events", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			return sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, with("events",
				map[string]any{EventSessionRevoked: map[string]any{}, EventCredentialChange: map[string]any{}})))
		}, ErrInvalidRequest},
		{"pushed without the issuer's authorization", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			e.editIssuer(t, func(s *storage.IssuerSSF) { s.PushAuthorization = "Bearer from-idp" })
			return sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, nil))
		}, ErrAuthentication},
		{"an event type the issuer may not send", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			e.editIssuer(t, func(s *storage.IssuerSSF) { s.Events = []string{EventCredentialChange} })
			return sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, nil))
		}, ErrAccessDenied},
		{"sub instead of sub_id", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			return sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, nil, func(c map[string]any) { delete(c, "sub_id"); c["sub"] = "svc-a" }))
		}, ErrInvalidRequest},
		{"replayed", ContentTypeSET, func(t *testing.T, e *rcvEnv) string {
			set := sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil, revoked, nil))
			if w := push(e.rc, ContentTypeSET, set); w.Code != http.StatusAccepted {
				t.Fatalf("first push = %d", w.Code)
			}
			e.sig.calls = nil
			return set
		}, ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRcvEnv(t)
			w := push(e.rc, tt.contentType, tt.body(t, e))
			var body SETError
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != http.StatusBadRequest || body.Code != tt.code || body.Description == "" {
				t.Errorf("push = %d %s, want 400 err %s", w.Code, w.Body, tt.code)
			}
			if got := e.sig.list(); len(got) != 0 {
				t.Errorf("a refused SET changed something: %v", got)
			}
			if s, _ := e.store.GetSession(t.Context(), "ext-1"); s.Status != storage.SessionActive {
				t.Errorf("session status = %s", s.Status)
			}
		})
	}
}

// editIssuer changes the IdP's SSF settings in the store.
func (e *rcvEnv) editIssuer(t *testing.T, edit func(*storage.IssuerSSF)) {
	t.Helper()
	err := e.store.Update(t.Context(), func(w storage.Writer) error {
		iss, err := w.GetIssuer(t.Context(), idp)
		if err != nil {
			return err
		}
		edit(iss.SSF)
		return w.PutIssuer(t.Context(), iss)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReceiverPushAuthorization: an issuer with push_authorization has its
// pushes accepted with that Authorization header.
func TestReceiverPushAuthorization(t *testing.T) {
	e := newRcvEnv(t)
	e.editIssuer(t, func(s *storage.IssuerSSF) { s.PushAuthorization = "Bearer from-idp" })
	set := sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil,
		&Subject{Format: FormatComplex, Session: &Subject{Format: FormatOpaque, ID: "ext-1"}}, nil))
	r := httptest.NewRequest(http.MethodPost, PathEvents, strings.NewReader(set))
	r.Header.Set("Content-Type", ContentTypeSET)
	r.Header.Set("Authorization", "Bearer from-idp")
	w := httptest.NewRecorder()
	e.rc.Push(w, r)
	if w.Code != http.StatusAccepted || strings.Join(e.sig.list(), ",") != "ext-1||session-revoked|" {
		t.Fatalf("push = %d %s, signals %v", w.Code, w.Body, e.sig.list())
	}
}

// FuzzReceiverAccept feeds arbitrary bodies to the push path: it must
// answer 202, 400 or 503 and never panic.
func FuzzReceiverAccept(f *testing.F) {
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIn0.sig")
	f.Fuzz(func(t *testing.T, body string) {
		e := newRcvEnv(t)
		w := push(e.rc, ContentTypeSET, body)
		if w.Code != http.StatusAccepted && w.Code != http.StatusBadRequest {
			t.Fatalf("status %d", w.Code)
		}
	})
}

func TestPollClientAcknowledges(t *testing.T) {
	e := newRcvEnv(t)
	good := e.set(EventSessionRevoked, nil, &Subject{Format: FormatComplex, Session: &Subject{Format: FormatOpaque, ID: "ext-2"}}, nil)
	bad := e.set(EventSessionRevoked, nil, nil, func(c map[string]any) { c["aud"] = "https://other" })
	sets := map[string]string{good["jti"].(string): sign(t, idpKey(t), TypSET, good), bad["jti"].(string): sign(t, idpKey(t), TypSET, bad)}
	var mu sync.Mutex
	var reqs []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		reqs = append(reqs, in)
		n := len(reqs)
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer poll" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		out := map[string]any{"sets": map[string]string{}}
		if n == 1 {
			out["sets"] = sets
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()
	iss, _ := e.store.GetIssuer(t.Context(), idp)
	iss.SSF.PollURL, iss.SSF.PollAuthorization = srv.URL, "Bearer poll"
	st := &pollState{errs: map[string]*SETError{}}
	for range 2 {
		if err := e.rc.PollOnce(t.Context(), iss, st); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.sig.list(); len(got) != 1 || got[0] != "ext-2||session-revoked|" {
		t.Errorf("signals = %v", got)
	}
	mu.Lock()
	second := reqs[1]
	mu.Unlock()
	ack, _ := second["ack"].([]any)
	errs, _ := second["setErrs"].(map[string]any)
	if len(ack) != 1 || ack[0] != good["jti"] || errs[bad["jti"].(string)] == nil {
		t.Errorf("second poll = %v", second)
	}
}

// blocking is a Signaler that holds each call until released.
type blocking struct {
	recorder
	entered, release chan struct{}
}

func (b *blocking) Signal(ctx context.Context, sid, clientID string, sig risk.Signal) (map[string]risk.Decision, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.recorder.Signal(ctx, sid, clientID, sig)
}

// TestReceiverSameSETAtOnce: the same SET arriving again while the first
// copy is being applied is refused as a replay and applied once.
func TestReceiverSameSETAtOnce(t *testing.T) {
	e := newRcvEnv(t)
	b := &blocking{entered: make(chan struct{}), release: make(chan struct{})}
	e.rc.signals = b
	set := sign(t, idpKey(t), TypSET, e.set(EventSessionRevoked, nil,
		&Subject{Format: FormatComplex, Session: &Subject{Format: FormatOpaque, ID: "ext-1"}}, nil))
	first := make(chan int)
	go func() { first <- push(e.rc, ContentTypeSET, set).Code }()
	<-b.entered // the first copy is being applied
	w := push(e.rc, ContentTypeSET, set)
	var body SETError
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusBadRequest || body.Code != ErrInvalidRequest {
		t.Errorf("second copy = %d %s", w.Code, w.Body)
	}
	close(b.release)
	if code := <-first; code != http.StatusAccepted {
		t.Errorf("first copy = %d", code)
	}
	if got := b.list(); len(got) != 1 {
		t.Errorf("applied %d times: %v", len(got), got)
	}
}
