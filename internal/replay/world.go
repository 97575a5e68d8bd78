package replay

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

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
	srv     *server.Instance
	dir     string // the instance's data directory
	handler http.Handler
	risk    *recorder
	secrets map[string]string // resource servers' client secrets
	keys    map[string]*ecKey // other clients' assertion keys
	dpop    map[string]*ecKey // DPoP keys of clients registered with dpop
	nonce   string            // the server's last DPoP nonce
	seq     int               // makes assertion and proof jtis unique
	admin   string            // the admin API's bearer token
}

// newWorld opens the server exactly as it ships ([server.Open], the default
// settings) with the given risk policy, a memory store and a virtual clock
// starting at start, and registers the scenario's resources and clients.
// Close it.
func newWorld(ctx context.Context, sc Scenario, start time.Time, policy risk.Policy) (*world, error) {
	w := &world{clock: &clock{now: start}, store: memory.New(), secrets: map[string]string{},
		keys: map[string]*ecKey{}, dpop: map[string]*ecKey{}}
	eng, err := risk.New(policy)
	if err != nil {
		return nil, err
	}
	w.risk = &recorder{eng: eng}
	if w.dir, err = os.MkdirTemp("", "vigil-replay-"); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	w.admin = secret.Generate("vat_")
	env := map[string]string{keys.SecretEnv: base64.RawURLEncoding.EncodeToString(random32()), server.AdminTokenEnv: w.admin}
	s := config.Defaults()
	s.Issuer, s.Data = Issuer, w.dir
	w.srv, err = server.Open(ctx, s, server.WithStore(w.store), server.WithClock(w.clock.Now),
		server.WithRisk(w.risk), server.WithGetenv(func(k string) string { return env[k] }))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("replay: server: %w", err), os.RemoveAll(w.dir))
	}
	w.handler = w.srv.Handler()
	if err := w.register(ctx, sc, w.srv.Hasher()); err != nil {
		return nil, errors.Join(err, w.close())
	}
	return w, nil
}

// close stops the server (its background workers would keep the whole
// world alive) and removes its data directory.
func (w *world) close() error {
	return errors.Join(w.srv.Close(), os.RemoveAll(w.dir))
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
