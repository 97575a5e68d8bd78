package eval

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// rng is the generator's source of randomness with the helpers it needs.
type rng struct{ *rand.Rand }

func newRNG(seed, stream uint64) rng { return rng{rand.New(rand.NewPCG(seed, stream))} }

func (r rng) chance(p float64) bool { return r.Float64() < p }

// between returns a uniform integer in [lo, hi].
func (r rng) between(lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// dur returns a uniform duration in [lo, hi].
func (r rng) dur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
}

func pick[T any](r rng, xs []T) T { return xs[r.IntN(len(xs))] }

// sample returns n distinct elements of xs (all of them when n >= len(xs)).
func sample[T any](r rng, xs []T, n int) []T {
	idx := r.Perm(len(xs))
	out := make([]T, 0, min(n, len(xs)))
	for _, i := range idx[:min(n, len(xs))] {
		out = append(out, xs[i])
	}
	return out
}

// toolKind is what a tool does, which decides its scope.
type toolKind int

const (
	kRead toolKind = iota
	kWrite
	kDelete
	kExport
	kSend
	kPaid
)

// tool is one operation of a resource.
type tool struct {
	name  string
	scope string
	kind  toolKind
}

// resource is a resource server of the organisation.
type resource struct {
	aud    string
	dom    *domain
	tier   int
	tactic string
	tenant string // set when the resource serves one tenant only
	tools  []tool
	rs     string // the resource server client that introspects its tokens, or ""
}

func (r *resource) toolsOf(kinds ...toolKind) []tool {
	var out []tool
	for _, t := range r.tools {
		if slices.Contains(kinds, t.kind) {
			out = append(out, t)
		}
	}
	return out
}

func (r *resource) scopes() []string {
	var out []string
	for _, t := range r.tools {
		if !slices.Contains(out, t.scope) {
			out = append(out, t.scope)
		}
	}
	return out
}

// org is one generated organisation: its tenants, sites and resources.
type org struct {
	r         rng
	tenants   []string
	sites     []netip.Prefix
	resources []*resource
	names     map[string]bool // every audience and client id handed out
}

func newOrg(r rng) *org {
	o := &org{r: r, names: map[string]bool{}}
	for range r.between(8, 14) {
		o.tenants = append(o.tenants, o.unique(o.tenantName))
	}
	for range r.between(4, 7) {
		o.sites = append(o.sites, o.site())
	}
	// Every domain appears at least twice, so each client kind finds what it needs.
	for i := range domains {
		for range r.between(2, 4) {
			o.resources = append(o.resources, o.newResource(&domains[i]))
		}
	}
	return o
}

// unique calls name until it returns a name not yet used.
func (o *org) unique(name func() string) string {
	for {
		if n := name(); !o.names[n] {
			o.names[n] = true
			return n
		}
	}
}

func (o *org) tenantName() string {
	r := o.r
	if r.chance(0.3) {
		return fmt.Sprintf("acct-%04d", r.IntN(10000))
	}
	var b strings.Builder
	for range r.between(2, 3) {
		b.WriteString(pick(r, syllables))
	}
	return b.String() + pick(r, tenantSuffixes)
}

// site is a network the organisation runs clients from.
func (o *org) site() netip.Prefix {
	r := o.r
	var a [4]byte
	bits := 16
	switch r.IntN(4) {
	case 0:
		a = [4]byte{10, byte(r.IntN(256)), 0, 0}
	case 1:
		a, bits = [4]byte{172, byte(16 + r.IntN(16)), byte(r.IntN(64) * 4), 0}, 22
	case 2:
		a, bits = [4]byte{192, 168, byte(r.IntN(256)), 0}, 24
	default:
		a, bits = [4]byte{100, byte(64 + r.IntN(64)), byte(r.IntN(16) * 16), 0}, 20
	}
	return netip.PrefixFrom(netip.AddrFrom4(a), bits).Masked()
}

// host returns a random address inside p (not the network or broadcast address).
func host(r rng, p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	size := uint32(1) << (32 - p.Bits())
	n := 1 + r.Uint32N(size-2)
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// foreignAddr is a public address outside every site: where an attacker
// with stolen credentials comes from.
func foreignAddr(r rng) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(pick(r, foreign)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))})
}

func (o *org) newResource(d *domain) *resource {
	r := o.r
	base := pick(r, d.names)
	aud := o.unique(func() string {
		name := base + "-" + pick(r, audSuffixes)
		if r.chance(0.3) {
			name = pick(r, regions) + "-" + name
		}
		return name
	})
	res := &resource{aud: aud, dom: d, tier: d.tier, tactic: d.tactic}
	// Tiers vary around the domain's: an internal wiki may hold private notes.
	if d.tier == 2 && r.chance(0.2) {
		res.tier = 3
	}
	if d.tier == 1 && !d.paid && r.chance(0.15) {
		res.tier = 2
	}
	if r.chance(0.15) && d.tier >= 2 {
		res.tenant = pick(r, o.tenants)
	}
	prefix := strings.ReplaceAll(base, "-", "")
	if r.chance(0.4) {
		prefix += "." + pick(r, d.objects)
	}
	obj := pick(r, d.objects)
	add := func(verbs []string, kind toolKind, scope string, n int) {
		for _, v := range sample(r, verbs, n) {
			name := prefix + "." + v
			if r.chance(0.3) {
				name = prefix + "." + obj + "_" + v
			}
			res.tools = append(res.tools, tool{name: name, scope: strings.ReplaceAll(base, "-", "") + "." + scope, kind: kind})
		}
	}
	switch {
	case d.paid:
		add(d.reads, kPaid, "invoke", r.between(1, 2))
	case d.egress:
		add(d.writes, kSend, "send", r.between(1, 2))
		add(d.reads, kRead, "read", 1)
	default:
		add(d.reads, kRead, "read", r.between(2, len(d.reads)))
		add(d.writes, kWrite, "write", r.between(0, len(d.writes)))
		if d.deletes && r.chance(0.7) {
			add([]string{"delete", "purge", "remove"}, kDelete, "delete", 1)
		}
		if d.exports && r.chance(0.8) {
			add([]string{"export", "download", "dump", "bulk_read"}, kExport, "export", 1)
		}
	}
	if r.chance(0.7) {
		res.rs = aud + "-rs"
		o.names[res.rs] = true
	}
	return res
}

// resourcesWhere lists the organisation's resources that satisfy ok.
func (o *org) resourcesWhere(ok func(*resource) bool) []*resource {
	var out []*resource
	for _, res := range o.resources {
		if ok(res) {
			out = append(out, res)
		}
	}
	return out
}
