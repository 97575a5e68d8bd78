package risk

import (
	"math"
	"net/netip"
	"strconv"
)

// principal is who made the call the event's address belongs to: the
// current actor of a delegated token, else the session's client.
type principal struct {
	name    string
	key     uint64
	profile *ClientProfile
	base    *Baseline
}

func (x *evaluation) principal() principal {
	ev := x.ev
	if len(ev.Actors) > 0 && ev.Actors[0] != ev.ClientID {
		name := ev.Actors[0]
		return principal{name, hashString(nsActor, name), &ev.ActorProfile, x.e.client(name).base.Load()}
	}
	return principal{ev.ClientID, hashString(nsClient, ev.ClientID), &ev.Client, x.base}
}

// network runs net.session_origin_change, net.new_network and
// net.parallel_use for the event's source address.
func (x *evaluation) network() {
	p := x.principal()
	ip := x.ev.IP.Unmap()
	o := x.s.originOf(p.name, p.key)
	k24 := netKey(ip, 24)
	fresh := x.s.nets.add(k24 ^ p.key) // first time this principal uses this /24 here
	if p.name == x.ev.ClientID {
		x.s.ownNets.add(k24)
	}
	if !o.first.IsValid() {
		o.first = ip
	} else if fresh {
		x.originChange(p, o.first, ip)
	}
	if fresh {
		x.newNetwork(p, ip)
	} else {
		x.stillNew(p, ip)
		if x.tier > int(x.s.maxTier) && x.ev.Audience != "" {
			x.vouched(p, ip)
		}
	}
	if o.last.IsValid() && netKey(o.last, 24) != k24 && x.at-o.lastAt <= int64(parallelWindow) {
		x.parallel(p, o.last, o.lastAt, ip)
	}
	o.last, o.lastAt = ip, x.at
}

// originChange scores a session used from a network other than its origin.
func (x *evaluation) originChange(p principal, first, ip netip.Addr) {
	decl := p.profile.Networks
	var pts float32
	switch {
	case len(decl) > 0 && !inNetworks(ip, decl):
		pts = ptsOriginOutsideDeclared
	case x.known(p.base.Nets, netKey(ip, 24)):
		pts = ptsOriginKnown
	case len(decl) > 0 || netKey(first, 16) == netKey(ip, 16):
		pts = ptsOriginNear
	default:
		pts = ptsOriginFar
	}
	x.add(dOriginChange, pts, p.name+" moved from "+first.String()+" to "+ip.String())
}

// newNetwork scores a caller network outside the declared networks or
// unknown to the learned baseline, discounted when peers share it.
func (x *evaluation) newNetwork(p principal, ip netip.Addr) {
	pts, why := x.netEvidence(p, ip)
	if pts > 0 {
		x.add(dNewNetwork, pts, ip.String()+why+p.name)
	}
	if why != whyOutside {
		x.vouched(p, ip)
	}
}

// stillNew keeps the evidence of a network the session is still used from
// standing: it is about where the session is now, re-observed with every
// call, so it does not fade while the calls keep coming from there. It
// raises the standing contribution back to the network's evidence without
// counting it again as novelty.
func (x *evaluation) stillNew(p principal, ip netip.Addr) {
	a := &x.s.acc[dNewNetwork]
	w := x.e.weights[dNewNetwork]
	if a.pts >= x.e.caps[dNewNetwork] || w <= 0 {
		return
	}
	pts, why := x.netEvidence(p, ip)
	if pts*w > a.pts+0.5 && why != whyKnown {
		a.pts = min(x.e.caps[dNewNetwork], pts*w)
		a.ev = ip.String() + why + p.name
	}
}

// Evidence strings of netEvidence, completed with the principal's name.
const (
	whyKnown    = ""
	whyOutside  = " is outside the declared networks of "
	whyNewScope = " is outside the address space (internal or public) ever used by "
	whyNew      = " is new for "
)

// netEvidence is the evidence (decibels, before weight) that address ip
// says about who holds p's credentials, and why: outside p's declared
// networks, in an address space p never used (a client only ever seen from
// internal addresses now calling from the public Internet, or the
// reverse), or a network it never used, less for a client that already
// roams over several, and divided among peers that share it. A known
// network gives whyKnown (its tier is vouched's to judge).
func (x *evaluation) netEvidence(p principal, ip netip.Addr) (float32, string) {
	decl := p.profile.Networks
	k24 := netKey(ip, 24)
	if len(decl) > 0 && !inNetworks(ip, decl) {
		return ptsNetOutsideDeclared, whyOutside
	}
	if x.known(p.base.Nets, k24) {
		return 0, whyKnown
	}
	var pts float32
	why := whyNew
	switch {
	case len(decl) > 0:
		pts = ptsNetNewInsideDeclared
	case newScope(p.base.Nets, ip):
		pts, why = ptsNetNewScope*x.learned(), whyNewScope
	case knows16(p.base.Nets, netKey(ip, 16)):
		pts = ptsNetUnknownNear * x.learned()
	default:
		pts = ptsNetUnknownFar * x.learned() * stability(p.base.Nets)
	}
	if n := x.e.peerCount(k24); n >= 2 {
		pts /= float32(n)
	}
	return pts, why
}

// newScope reports whether ip lies in an address space (internal: private,
// shared, loopback or link-local; or public) none of the networks in set
// lies in. An empty set has no address space yet.
func newScope(set []entry, ip netip.Addr) bool {
	in := internalAddr(ip)
	seen := false
	for _, e := range set {
		if e.Count < 0.5 {
			continue
		}
		if internalAddr(keyAddr(e.Key)) == in {
			return false
		}
		seen = true
	}
	return seen
}

// shared is the shared address space of carrier-grade NAT and overlay
// networks (RFC 6598): not routed on the Internet.
var shared = netip.MustParsePrefix("100.64.0.0/10")

// internalAddr reports whether addr is not globally routable: private
// (RFC 1918, fc00::/7), shared (RFC 6598), loopback or link-local.
func internalAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	return addr.IsPrivate() || addr.IsLoopback() || addr.IsLinkLocalUnicast() || shared.Contains(addr)
}

// vouched scores a known network used for a call above the highest tier
// the network was learned from: low-tier work there does not make
// higher-tier work there normal, declared or not. A /24 never used (or
// seen too little) is judged by the declared network that holds it, all
// the /24s the principal used inside it together, or, outside its declared
// networks, by its /16: a declared network is the unit the principal runs
// one kind of work from, where a /16 may also hold its main network. The
// evidence is how unlikely it is that the n sessions from there never
// reached the tier if they were like the principal's others (vouchDB); it
// grows as the session climbs tiers.
func (x *evaluation) vouched(p principal, ip netip.Addr) {
	if x.ev.Audience == "" || x.tier < 2 {
		return
	}
	n, t := lookupTier(p.base.Nets, netKey(ip, 24))
	if n < float32(x.e.p.Baseline.KnownAt) {
		n, t = around(p.base.Nets, ip, p.profile.Networks)
		if n < float32(x.e.p.Baseline.KnownAt) {
			return
		}
	}
	if t >= x.tier {
		return
	}
	pts := vouchDB(n, p.base, x.tier, t) - vouchDB(n, p.base, int(x.s.maxTier), t)
	x.add(dNewNetwork, pts*x.learned(), ip.String()+" vouched only for tier "+strconv.Itoa(t)+" work of "+p.name)
}

// around sums the counts, and takes the highest tier, of the /24s in set
// that lie in the network ip is judged by when its own /24 is not known:
// the most specific of decl holding ip, else ip's /16.
func around(set []entry, ip netip.Addr, decl []netip.Prefix) (n float32, t int) {
	var in netip.Prefix
	for _, d := range decl {
		if d.Contains(ip) && d.Bits() > in.Bits() {
			in = d
		}
	}
	k16 := netKey(ip, 16)
	for _, e := range set {
		var ok bool
		if in.IsValid() {
			ok = in.Contains(keyAddr(e.Key))
		} else {
			ok = same16(e.Key, k16)
		}
		if ok {
			n += e.Count
			t = max(t, int(e.Tier))
		}
	}
	return n, t
}

// vouchDB is the evidence (decibels) that a context seen in n of b's clean
// sessions, which reached at most tier vouched, is not being used as b
// uses it when it now reaches tier: one over the chance, (1-f)^n, that n
// sessions like b's others, of which a share f reach tier (estimated with
// the rule of succession), all stayed below it. 0 at or below the vouched
// tier, and for a tier b never reaches: that is no news about the context
// (scope.tier_jump says it).
func vouchDB(n float32, b *Baseline, tier, vouched int) float32 {
	if tier <= vouched || tier >= len(b.Tiers) {
		return 0
	}
	hi := b.reaching(tier)
	if hi < 0.5 {
		return 0
	}
	f := min((hi+1)/(b.Sessions+2), 0.9)
	return min(ptsVouchMax, float32(-10*float64(n)*math.Log10(1-float64(f))))
}

// stability discounts a never-seen /16 for a client that already roams
// over several: 1 for one known /16, 1/2 for three, 1/3 for five.
func stability(set []entry) float32 {
	var n int
	var seen [capNets]uint64
	for _, e := range set {
		if e.Count < 0.5 {
			continue
		}
		k := e.Key >> 16
		dup := false
		for _, s := range seen[:n] {
			dup = dup || s == k
		}
		if !dup && n < len(seen) {
			seen[n] = k
			n++
		}
	}
	return 1 / (1 + float32(max(n-1, 0))/2)
}

// knows16 reports whether set holds a /24 inside the /16 with key k16.
func knows16(set []entry, k16 uint64) bool {
	for _, e := range set {
		if e.Count >= 0.5 && same16(e.Key, k16) {
			return true
		}
	}
	return false
}

// same16 compares a /24 (or /48) key with a /16 (or /40) key.
func same16(k24, k16 uint64) bool {
	fam := k24 >> 62
	return fam == k16>>62 && (k24&^(3<<62))>>16 == (k16&^(3<<62))>>8
}

// parallel scores one session used from two origins within the window.
func (x *evaluation) parallel(p principal, prev netip.Addr, prevAt int64, ip netip.Addr) {
	decl := p.profile.Networks
	var pts float32
	switch {
	case len(decl) > 0 && inNetworks(ip, decl) && inNetworks(prev, decl):
		pts = ptsParallelDeclared
	case netKey(prev, 16) == netKey(ip, 16):
		pts = ptsParallelNear
	default:
		pts = ptsParallelFar
	}
	gap := (x.at - prevAt) / 1e9
	x.add(dParallelUse, pts, p.name+" used from "+prev.String()+" and "+ip.String()+" "+strconv.FormatInt(gap, 10)+"s apart")
}
