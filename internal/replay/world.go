package replay

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

// Issuer is the issuer URL of the replayed server.
const Issuer = "https://vigil.replay.test"

// clock is the virtual clock every part of the replayed server reads.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// observed is one decision the risk engine made.
type observed struct {
	op risk.Op
	d  risk.Decision
}

// recorder passes events to the engine and keeps the decisions of the
// current step, for the report. It changes nothing the server sees.
type recorder struct {
	eng *risk.Engine
	mu  sync.Mutex
	log []observed
}

// Observe implements authz.Risk and introspect.Risk.
func (r *recorder) Observe(ev risk.Event) risk.Decision {
	d := r.eng.Observe(ev)
	r.mu.Lock()
	r.log = append(r.log, observed{ev.Op, d})
	r.mu.Unlock()
	return d
}

// take returns and clears the decisions recorded since the last take.
func (r *recorder) take() []observed {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.log
	r.log = nil
	return out
}

// world is one scenario's server and its clients' credentials.
type world struct {
	clock   *clock
	store   storage.Store
	srv     *server.Server
	handler http.Handler
	risk    *recorder
	secrets map[string]string // resource servers' client secrets
	keys    map[string]*ecKey // other clients' assertion keys
	dpop    map[string]*ecKey // DPoP keys of clients registered with dpop
	nonce   string            // the server's last DPoP nonce
	seq     int               // makes assertion and proof jtis unique
	admin   string            // the admin API's bearer token
}

// newWorld builds the server exactly as it ships, with the default
// settings and the given risk policy, on a virtual clock starting at
// start, and registers the scenario's resources and clients.
func newWorld(ctx context.Context, sc Scenario, start time.Time, policy risk.Policy) (*world, error) {
	w := &world{clock: &clock{now: start}, store: memory.New(), secrets: map[string]string{},
		keys: map[string]*ecKey{}, dpop: map[string]*ecKey{}}
	kek, refreshKey := random32(), random32()
	km, err := keys.Open(ctx, w.store, kek, keys.Config{}, keys.WithClock(w.clock.Now))
	if err != nil {
		return nil, fmt.Errorf("replay: keys: %w", err)
	}
	hasher, err := secret.NewHasher(kek)
	if err != nil {
		return nil, err
	}
	eng, err := risk.New(policy)
	if err != nil {
		return nil, err
	}
	w.risk = &recorder{eng: eng}
	if err := w.register(ctx, sc, hasher); err != nil {
		return nil, err
	}
	s := config.Defaults()
	w.admin = secret.Generate("vat_")
	cfg := server.Config{Issuer: Issuer, AdminToken: w.admin, Authz: authz.Config{
		AccessTokenTTL: s.AccessTokenTTL, RefreshTokenTTL: s.RefreshTokenTTL, ExchangeTTL: s.ExchangeTTL,
		RefreshGrace: s.RefreshGrace, MaxChainDepth: s.MaxChainDepth, DPoPNonce: s.DPoPNonce,
	}}
	w.srv, err = server.New(cfg, server.Deps{Store: w.store, Keys: km, Hasher: hasher, Risk: w.risk,
		RefreshKey: refreshKey, Now: w.clock.Now})
	if err != nil {
		return nil, fmt.Errorf("replay: server: %w", err)
	}
	w.handler = w.srv.Handler()
	return w, nil
}

// register stores the scenario's resources and clients: resource servers
// with a generated secret, every other client with a generated P-256 key
// (so it can revalidate with private_key_jwt), and a DPoP key for clients
// registered with dpop.
func (w *world) register(ctx context.Context, sc Scenario, hasher *secret.Hasher) error {
	var recs []storage.Client
	for _, id := range sortedKeys(sc.Clients) {
		c := sc.Clients[id]
		rec := c.record(id)
		if c.Kind == storage.KindResourceServer {
			w.secrets[id] = secret.Generate("vcs_")
			rec.SecretHash = hasher.Hash(w.secrets[id])
		} else {
			k, err := newECKey(id + "-1")
			if err != nil {
				return err
			}
			w.keys[id], rec.JWKS = k, k.jwks()
		}
		if c.DPoP {
			k, err := newECKey("")
			if err != nil {
				return err
			}
			w.dpop[id] = k
		}
		recs = append(recs, rec)
	}
	return w.store.Update(ctx, func(tx storage.Writer) error {
		for _, aud := range sortedKeys(sc.Resources) {
			if err := tx.PutResource(ctx, sc.Resources[aud].record(aud)); err != nil {
				return err
			}
		}
		for _, rec := range recs {
			if err := tx.PutClient(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
}

func random32() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}
