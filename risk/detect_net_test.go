package risk_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// TestNetworkEvidence checks what a caller network says about who holds a
// client's credentials: an address space the client never used speaks
// louder than a new network in its own space, and the evidence of the
// network a session is still used from stands while the calls keep coming
// from there.
func TestNetworkEvidence(t *testing.T) {
	open := agent
	open.Networks = nil
	keepCalling := repeatCall(call{op: risk.OpExchange, aud: "tickets", sens: 1, tool: "tickets.get", scopes: []string{"tickets.read"}, after: 5 * time.Minute}, 8)
	tests := []struct {
		name    string
		prof    risk.ClientProfile
		trainIP string
		probeIP string
		probe   []call // after the opening token request; its last decision is checked
		want    int
	}{
		{name: "internal client calls from the public Internet", prof: open, trainIP: "10.1.4.21", probeIP: "198.51.100.7", want: 25},
		{name: "internal client calls from a new internal network", prof: open, trainIP: "10.1.4.21", probeIP: "172.16.5.5", want: 20},
		{name: "internal client calls from a new shared-space network", prof: open, trainIP: "10.1.4.21", probeIP: "100.72.5.5", want: 20},
		{name: "public client calls from another public network", prof: open, trainIP: "203.0.113.9", probeIP: "198.51.100.7", want: 20},
		{name: "public client calls from an internal network", prof: open, trainIP: "203.0.113.9", probeIP: "10.9.1.1", want: 25},
		{name: "outside the declared networks stands while used", prof: agent, trainIP: "10.1.4.21", probeIP: "198.51.100.7", probe: keepCalling, want: 25},
		{name: "a new public network stands while used", prof: open, trainIP: "10.1.4.21", probeIP: "198.51.100.7", probe: keepCalling, want: 25},
		{name: "a new subnet inside the declared networks stays small", prof: agent, trainIP: "10.1.4.21", probeIP: "10.1.77.3", probe: keepCalling, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.train("c", tt.prof, tt.trainIP, routine, 20)
			sid, d := f.open("c", tt.prof, tt.probeIP)
			if len(tt.probe) > 0 {
				d = last(f.do(sid, "c", tt.prof, tt.probeIP, tt.probe))
			}
			if got := points(d, risk.DetNewNetwork); got != tt.want {
				t.Errorf("%s = %d, want %d; reasons %v", risk.DetNewNetwork, got, tt.want, d.Reasons)
			}
		})
	}
}

// TestVouchedByDeclaredNetwork checks that a /24 never used is judged by
// the declared network that holds it: a side network the client declared
// and used only for routine work does not vouch for secret reads because
// its /16 also holds the client's main network.
func TestVouchedByDeclaredNetwork(t *testing.T) {
	declared := agent
	declared.Networks = []netip.Prefix{netip.MustParsePrefix("10.2.0.0/20"), netip.MustParsePrefix("10.2.16.0/20")}
	open := agent
	open.Networks = nil
	tests := []struct {
		name     string
		prof     risk.ClientProfile
		probeIP  string
		min, max int
	}{
		{name: "new /24 in the declared routine network", prof: declared, probeIP: "10.2.18.9", min: 5, max: 30},
		{name: "new /24 in the declared main network", prof: declared, probeIP: "10.2.7.9", min: 0, max: 1},
		{name: "undeclared: judged by the /16, which holds the main network", prof: open, probeIP: "10.2.18.9", min: 0, max: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for range 10 {
				f.session("c", tt.prof, "10.2.4.21", append(append([]call{}, routine...), vaultCall))
				f.session("c", tt.prof, "10.2.17.5", routine)
			}
			sid, _ := f.open("c", tt.prof, tt.probeIP)
			d := last(f.do(sid, "c", tt.prof, tt.probeIP, []call{routine[0], vaultCall}))
			if got := points(d, risk.DetNewNetwork); got < tt.min || got > tt.max {
				t.Errorf("%s = %d, want %d..%d; reasons %v", risk.DetNewNetwork, got, tt.min, tt.max, d.Reasons)
			}
		})
	}
}
