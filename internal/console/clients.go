package console

import (
	"context"
	"html/template"
	"net/http"

	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// clientList answers GET /console/clients.
func (c *Console) clientList(w http.ResponseWriter, r *http.Request, s *session) {
	c.showRecords(w, r, s, clientKind, http.StatusOK, "", "")
}

// baselineView is a client's learned baseline at a glance.
type baselineView struct {
	Heatmap                            template.HTML
	Sessions                           float32
	Networks, Audiences, Scopes, Tools int
	Tenants, Actors                    int
	PeakRate, AudsPerSession           float32
	MaxDepth                           int
	Tiers                              template.HTML
}

func baselineOf(b risk.Baseline) baselineView {
	tiers := make([]bar, 0, len(b.Tiers))
	for i, v := range b.Tiers {
		tiers = append(tiers, bar{Label: "tier " + string(rune('0'+i)), Value: int(v + 0.5), Class: "lvl-low"})
	}
	return baselineView{
		Heatmap: heatmap("hours", b.Hours), Sessions: b.Sessions,
		Networks: len(b.Nets), Audiences: len(b.Auds), Scopes: len(b.Scopes), Tools: len(b.Tools),
		Tenants: len(b.Tenants), Actors: len(b.Actors), PeakRate: b.PeakRate, AudsPerSession: b.Auds1,
		MaxDepth: int(b.MaxDepth), Tiers: barChart("tiers", "Clean sessions by highest resource tier reached", tiers),
	}
}

// clientPage answers GET /console/clients/{id}.
func (c *Console) clientPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showClient(w, r, s, http.StatusOK, "", "")
}

func (c *Console) showClient(w http.ResponseWriter, r *http.Request, s *session, status int, draft, errMsg string) {
	id := web.Var(r, "id")
	rec, text, err := c.fetchRecord(r, s, clientKind, id)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, err.Error())
		return
	}
	if draft != "" {
		text = draft
	}
	recent, err := c.recentSessions(r.Context(), id, 10)
	if err != nil {
		c.fail(w, r, s, http.StatusServiceUnavailable, "The store cannot be read: "+err.Error())
		return
	}
	data := map[string]any{"Kind": "client", "Key": id, "Rec": rec, "JSON": text, "Error": errMsg,
		"Action": clientKind.pagePath(id), "Recent": recent}
	if c.d.Baselines != nil {
		if b, ok := c.d.Baselines.Baseline(id); ok {
			data["Baseline"] = baselineOf(b)
		}
	}
	c.render(w, r, status, "client", s, data, titled("Client "+id), nav("clients"))
}

// recentSessions summarizes the client's newest sessions.
func (c *Console) recentSessions(ctx context.Context, clientID string, n int) ([]summary, error) {
	ss, err := c.d.Store.ListSessions(ctx, storage.SessionFilter{ClientID: clientID, Limit: n})
	if err != nil {
		return nil, err
	}
	kinds, _, err := c.clientKinds(ctx)
	if err != nil {
		return nil, err
	}
	now := c.d.Now()
	out := make([]summary, 0, len(ss))
	for _, x := range ss {
		sm, err := c.summarize(ctx, x, kinds, now)
		if err != nil {
			return nil, err
		}
		out = append(out, sm)
	}
	return out, nil
}
