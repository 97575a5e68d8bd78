package bolt

import (
	"sync"
	"sync/atomic"

	"github.com/vigil-auth/vigil/storage"
)

// regCache holds decoded clients and resources: registrations that few
// requests change and every request reads (the caller's own client, a
// token's owner, the audience's sensitivity). A hit costs no transaction.
//
// Correctness does not depend on timing: a transaction that writes a client
// or a resource marks itself, and Update drops the whole cache after the
// commit and before it returns. A read that misses fills the generation it
// looked in, so a value read before a commit can only land in a generation
// that commit has already discarded. Hence no read that starts after an
// Update returns sees what that Update replaced: a disabled client or a
// removed audience takes effect at once.
type regCache struct {
	gen atomic.Pointer[regGen]
}

// regGen is one generation of the cache. Its values are never changed;
// readers get copies.
type regGen struct {
	clients   sync.Map // id -> *storage.Client
	resources sync.Map // audience -> *storage.Resource
}

func newRegCache() *regCache {
	c := &regCache{}
	c.gen.Store(&regGen{})
	return c
}

// current returns the generation to look in (and to fill after a miss).
func (c *regCache) current() *regGen { return c.gen.Load() }

// drop discards every cached registration.
func (c *regCache) drop() { c.gen.Store(&regGen{}) }

func (g *regGen) client(id string) (storage.Client, bool) {
	v, ok := g.clients.Load(id)
	if !ok {
		return storage.Client{}, false
	}
	return v.(*storage.Client).Clone(), true
}

func (g *regGen) putClient(c storage.Client) {
	c = c.Clone()
	g.clients.Store(c.ID, &c)
}

func (g *regGen) resource(aud string) (storage.Resource, bool) {
	v, ok := g.resources.Load(aud)
	if !ok {
		return storage.Resource{}, false
	}
	return *v.(*storage.Resource), true // no reference fields
}

func (g *regGen) putResource(r storage.Resource) { g.resources.Store(r.Audience, &r) }

// changes records what an Update's transaction wrote that the cache holds.
type changes struct{ registrations bool }
