package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/storage"
)

// request is one HTTP request a replayed party sends.
type request struct {
	path string
	form url.Values
	ip   netip.Addr
	// client authenticates the request ("" sends no client authentication).
	client string
	// dpop, when set, signs a DPoP proof for the request.
	dpop *ecKey
}

// answer is the server's reply.
type answer struct {
	status int
	body   map[string]any
}

// str returns a string member of the body.
func (a answer) str(key string) string {
	s, _ := a.body[key].(string)
	return s
}

// num returns a numeric member of the body.
func (a answer) num(key string) float64 {
	n, _ := a.body[key].(float64)
	return n
}

// String is the coarse wire outcome, for the report: "200" or
// "401 revalidation_required".
func (a answer) String() string {
	s := strconv.Itoa(a.status)
	if e := a.str("error"); e != "" {
		s += " " + e
	}
	return s
}

// send sends req through the server's handler, authenticated as req.client
// with a fresh credential, and answers the server's DPoP nonce demand once.
func (w *world) send(req request) answer {
	a, nonce := w.sendOnce(req)
	if req.dpop != nil && a.status == http.StatusBadRequest && a.str("error") == "use_dpop_nonce" && nonce != "" {
		a, _ = w.sendOnce(req)
	}
	return a
}

func (w *world) sendOnce(req request) (answer, string) {
	form := url.Values{}
	for k, v := range req.form {
		form[k] = v
	}
	user, pass := w.authenticate(form, req.client)
	hr := httptest.NewRequest(http.MethodPost, Issuer+req.path, strings.NewReader(form.Encode()))
	if user != "" {
		hr.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.RemoteAddr = ""
	if req.ip.IsValid() {
		hr.RemoteAddr = net.JoinHostPort(req.ip.String(), "40000")
	}
	if req.dpop != nil {
		hr.Header.Set("DPoP", w.proof(req.dpop))
	}
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, hr)
	a := answer{status: rec.Code}
	_ = json.Unmarshal(rec.Body.Bytes(), &a.body)
	nonce := rec.Header().Get("DPoP-Nonce")
	if nonce != "" {
		w.nonce = nonce
	}
	return a, nonce
}

// adminPost sends a JSON body to the admin API with the admin token, as an
// operator's tooling does.
func (w *world) adminPost(path string, body any) answer {
	b, err := json.Marshal(body)
	if err != nil {
		return answer{status: http.StatusBadRequest}
	}
	hr := httptest.NewRequest(http.MethodPost, Issuer+path, bytes.NewReader(b))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+w.admin)
	hr.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, hr)
	a := answer{status: rec.Code}
	_ = json.Unmarshal(rec.Body.Bytes(), &a.body)
	return a
}

// authenticate adds client authentication: a resource server's secret
// (client_secret_basic), or a fresh private_key_jwt assertion for every
// other client. It returns the Basic credentials to send, if any.
func (w *world) authenticate(form url.Values, client string) (user, pass string) {
	if client == "" {
		return "", ""
	}
	if sec, ok := w.secrets[client]; ok {
		return client, sec
	}
	k := w.keys[client]
	if k == nil {
		return "", ""
	}
	now := w.clock.Now()
	w.seq++
	claims := map[string]any{"iss": client, "sub": client, "aud": Issuer, "iat": now.Unix(),
		"exp": now.Add(2 * time.Minute).Unix(), "jti": "replay-" + strconv.Itoa(w.seq)}
	raw, err := k.sign(map[string]any{"typ": "JWT", "kid": k.kid}, claims)
	if err == nil {
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", raw)
	}
	return "", ""
}

// proof signs a DPoP proof for the token endpoint, with the server's last
// nonce when it gave one.
func (w *world) proof(k *ecKey) string {
	w.seq++
	claims := map[string]any{"jti": "proof-" + strconv.Itoa(w.seq), "htm": http.MethodPost,
		"htu": Issuer + "/oauth2/token", "iat": w.clock.Now().Unix()}
	if w.nonce != "" {
		claims["nonce"] = w.nonce
	}
	raw, _ := k.sign(map[string]any{"typ": "dpop+jwt", "jwk": k.publicJWK()}, claims)
	return raw
}

// sessionOf returns the session ID of a raw token, or "".
func (w *world) sessionOf(ctx context.Context, raw string) string {
	t, err := w.store.GetToken(ctx, authz.TokenID(raw))
	if err != nil {
		return ""
	}
	return t.SessionID
}

// terminated reports whether session sid's record says terminated.
func (w *world) terminated(ctx context.Context, sid string) bool {
	if sid == "" {
		return false
	}
	s, err := w.store.GetSession(ctx, sid)
	return err == nil && s.Status == storage.SessionTerminated
}
