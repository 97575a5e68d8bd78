package cluster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AuthHeader carries a peer request's or answer's authentication:
// "v1 <from> <unix ms> <nonce> <hmac>" on a request, "v1 <hmac>" on an
// answer, where the answer's MAC covers the request's nonce.
const AuthHeader = "Vigil-Peer-Auth"

// Skew is how far a peer request's time may be from the receiver's clock;
// a nonce is remembered for twice as long, so no request is accepted twice.
const Skew = 10 * time.Second

// Authentication failures; the endpoint answers 401 to each.
var (
	ErrUnauthenticated = errors.New("cluster: peer request not authenticated")
	ErrReplayed        = errors.New("cluster: peer request replayed")
	ErrStale           = errors.New("cluster: peer request outside the allowed clock skew")
)

// signer computes and checks the MACs of peer messages with one key, which
// every instance derives from the shared secret.
type signer struct{ key []byte }

func (s signer) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		fmt.Fprintf(m, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// request returns the header value authenticating body sent by from at
// now, and the nonce the answer's MAC will cover.
func (s signer) request(from, path string, body []byte, now time.Time) (header, nonce string) {
	var n [16]byte
	_, _ = rand.Read(n[:])
	nonce = hex.EncodeToString(n[:])
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	return strings.Join([]string{"v1", from, ts, nonce, s.mac("req", from, ts, nonce, path, string(body))}, " "), nonce
}

// answer returns the header value authenticating an answer body to the
// request that carried nonce.
func (s signer) answer(nonce string, body []byte) string {
	return "v1 " + s.mac("ans", nonce, string(body))
}

// checkAnswer verifies an answer's header.
func (s signer) checkAnswer(header, nonce string, body []byte) error {
	got, ok := strings.CutPrefix(header, "v1 ")
	if !ok || !hmac.Equal([]byte(got), []byte(s.mac("ans", nonce, string(body)))) {
		return ErrUnauthenticated
	}
	return nil
}

// peerRequest is an authenticated request's sender and nonce.
type peerRequest struct{ from, nonce string }

// checkRequest verifies a request's header against path and body at now.
func (s signer) checkRequest(header, path string, body []byte, now time.Time) (peerRequest, error) {
	f := strings.Fields(header)
	if len(f) != 5 || f[0] != "v1" || len(f[3]) != 32 {
		return peerRequest{}, ErrUnauthenticated
	}
	if !hmac.Equal([]byte(f[4]), []byte(s.mac("req", f[1], f[2], f[3], path, string(body)))) {
		return peerRequest{}, ErrUnauthenticated
	}
	ms, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return peerRequest{}, ErrUnauthenticated
	}
	if d := now.Sub(time.UnixMilli(ms)); d > Skew || d < -Skew {
		return peerRequest{}, fmt.Errorf("%w: %s", ErrStale, d.Round(time.Millisecond))
	}
	return peerRequest{from: f[1], nonce: f[3]}, nil
}

// maxNonces bounds the replay cache; past it, requests are refused (the
// sender then judges locally) until old nonces expire.
const maxNonces = 1 << 20

// nonces remembers the nonces of accepted requests in two generations,
// each 2×Skew long: a nonce is remembered at least 2×Skew, longer than a
// request's time stays acceptable, and forgetting costs no sweep.
type nonces struct {
	mu        sync.Mutex
	cur, prev map[string]struct{}
	rotate    time.Time // when cur becomes prev
}

// fresh records nonce at now and reports whether it was new.
func (n *nonces) fresh(nonce string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cur == nil || !now.Before(n.rotate) {
		n.prev, n.cur, n.rotate = n.cur, map[string]struct{}{}, now.Add(2*Skew)
	}
	_, inCur := n.cur[nonce]
	_, inPrev := n.prev[nonce]
	if inCur || inPrev || len(n.cur)+len(n.prev) >= maxNonces {
		return false
	}
	n.cur[nonce] = struct{}{}
	return true
}
