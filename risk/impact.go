package risk

import (
	"strconv"
	"strings"
)

// Verb classes: what a tool or scope does, read from its name. A name is
// split at '.', ':', '/', '_' and '-' and each part compared with the class
// lists below (verbWords).
const (
	VerbWrite  = "write"  // changes data: write, update, create, post, deploy, rotate…
	VerbExport = "export" // moves data in bulk: export, dump, download, clone, bulk…
	VerbDelete = "delete" // destroys: delete, purge, drop, wipe, destroy, disable…
	VerbCost   = "cost"   // spends money: pay, charge, purchase, transfer, provision…
	VerbAdmin  = "admin"  // changes who may do what: admin, grant, keys, iam, policy…
)

var verbClasses = [...]string{VerbWrite, VerbExport, VerbDelete, VerbCost, VerbAdmin}

func verbIndex(name string) int {
	for i, v := range verbClasses {
		if v == name {
			return i
		}
	}
	return -1
}

// verbWords maps a name part to its verb class index. Egress words mark a
// call that sends data out (see egressWords).
var verbWords = map[string]int{
	"write": 0, "update": 0, "create": 0, "post": 0, "put": 0, "patch": 0, "set": 0, "modify": 0, "edit": 0,
	"commit": 0, "push": 0, "deploy": 0, "rotate": 0, "submit": 0, "upsert": 0, "insert": 0, "rollout": 0,
	"export": 1, "dump": 1, "download": 1, "clone": 1, "bulk": 1, "backup": 1, "snapshot": 1, "copy": 1, "exportall": 1,
	"delete": 2, "destroy": 2, "purge": 2, "drop": 2, "wipe": 2, "truncate": 2, "erase": 2, "disable": 2,
	"remove": 2, "shutdown": 2, "deleteall": 2, "deprovision": 2, "kill": 2,
	"pay": 3, "payout": 3, "charge": 3, "purchase": 3, "buy": 3, "transfer": 3, "spend": 3, "provision": 3,
	"refund": 3, "order": 3, "launch": 3, "wire": 3, "invoke": 3, "completion": 3, "completions": 3, "inference": 3, "generate": 3,
	"admin": 4, "grant": 4, "keys": 4, "iam": 4, "policy": 4, "role": 4, "roles": 4, "impersonate": 4, "sudo": 4, "root": 4,
}

// egressWords mark tools and scopes that send data outside.
var egressWords = map[string]bool{
	"webhook": true, "upload": true, "share": true, "send": true, "email": true, "paste": true, "publish": true,
	"notify": true, "forward": true, "egress": true, "outbound": true, "sink": true, "exfil": true, "sms": true,
	"tweet": true, "message": true,
}

// verbsOf returns the verb classes (bit set) and egress flag of names.
func verbsOf(names ...string) (set uint8, egress bool) {
	for _, n := range names {
		for part := range strings.FieldsFuncSeq(strings.ToLower(n), splitName) {
			if i, ok := verbWords[part]; ok {
				set |= 1 << i
			}
			egress = egress || egressWords[part]
		}
	}
	return set, egress
}

func splitName(r rune) bool {
	return r == '.' || r == ':' || r == '/' || r == '_' || r == '-' || r == ' '
}

// impactOf is what a call can do, 0..1, and what set it. kind is the
// value without the session's volume: what this kind of call can do.
type impactOf struct {
	value float32
	why   string
	kind  float32
}

// impact computes the call's impact: its tier's base, times its tactic and
// the strongest verb class of its tool and scopes, times its volume, and, for
// a call that sends data out after the session reached sensitive data, at
// least the impact of that data leaving. Capped at 1.
func (x *evaluation) impact() impactOf {
	e, ev, s := x.e, x.ev, x.s
	switch ev.Op {
	case OpRevoke, OpSignal, OpRevalidate:
		return impactOf{0, "no access", 0}
	case OpRefresh:
		// renewing a session's credentials is worth at least routine
		// internal work
		floor := e.impactTier[1]
		if s.acc[dOriginChange].pts+s.acc[dNewNetwork].pts+s.acc[dParallelUse].pts >= 0.5 {
			floor = e.impactTier[2] // renewing it for someone elsewhere keeps a stolen session alive
		}
		v := max(s.maxImpact, floor)
		return impactOf{v, "renews the session's credentials (" + pct(v) + ")", v}
	}
	if ev.Audience == "" {
		// opening a session or asking for its token: what it can do is
		// judged call by call
		return impactOf{e.impactTier[0], "session token", e.impactTier[0]}
	}
	tier := x.tier
	v := e.impactTier[tier-1]
	why := "tier " + strconv.Itoa(tier)
	if bit := tacticBit(ev.Resource.Tactic); bit >= 0 && e.impactTactic[bit] > 1 {
		v *= e.impactTactic[bit]
		why += ", " + ev.Resource.Tactic
	}
	verbs := x.verbs
	var vm float32 = 1
	vname := ""
	for i := range verbClasses {
		if verbs&(1<<i) != 0 && e.impactVerb[i] > vm {
			vm, vname = e.impactVerb[i], verbClasses[i]
		}
	}
	if vm > 1 {
		v *= vm
		why += ", " + vname
	}
	kind := v
	if f := x.volumeFactor(); f > 1 {
		v *= f
		why += ", volume ×" + strconv.FormatFloat(float64(f), 'f', 1, 32)
	}
	if s.sensRead && x.sendsOut() {
		// any egress after a sensitive read is judged at the data's tier,
		// whatever the channel's own
		out := e.impactTier[max(int(s.maxTier), e.p.SensitiveTier)-1] * e.impactTactic[tacticExfiltration]
		if out > v {
			v = out
			why += ", sends data out after sensitive data was read"
		}
		kind = max(kind, out)
	}
	return impactOf{min(v, 1), why, min(kind, 1)}
}

// volumeFactor scales impact with how far the session's calls or tenants
// exceed the client's usual per session (mass access is a larger loss, 1
// within twice the usual), and with the count of a tool that deletes,
// exports, spends or administers against the most its sessions make of it
// (every call of a loop destroys or spends again). The count of another
// tool speaks in the suspicion only: reading one record more often is not
// a larger loss per call.
func (x *evaluation) volumeFactor() float32 {
	s, b := x.s, x.base
	ratio := float32(0)
	if u := max(b.callsUsual(s.turn), 5); float32(s.calls) > 2*u {
		ratio = max(ratio, float32(s.calls)/(2*u))
	}
	if u := max(b.Tenants1, 2); float32(s.distinctTenants) > 2*u {
		ratio = max(ratio, float32(s.distinctTenants)/(2*u))
	}
	ratio = max(ratio, s.volRatio)
	if x.met >= 2 { // other tenants' data reached over the client's recent sessions
		ratio = max(ratio, x.met)
	}
	if ratio <= 1 {
		return 1
	}
	return min(x.e.impactVolume, 1+log2f(ratio)/2)
}

func pct(v float32) string { return strconv.Itoa(int(v*100+0.5)) + "%" }
