package console

import (
	"encoding/json"
	"net/http"
)

// policyPage answers GET /console/policy: the policy in force, its mode,
// a form to check a draft and the report-only switch.
func (c *Console) policyPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showPolicy(w, r, s, http.StatusOK, map[string]any{})
}

func (c *Console) showPolicy(w http.ResponseWriter, r *http.Request, s *session, status int, data map[string]any) {
	if c.d.Policy == nil {
		c.fail(w, r, s, http.StatusNotFound, "The risk policy is not available in this server.")
		return
	}
	b, _ := json.MarshalIndent(c.d.Policy.Policy(), "", "  ")
	data["Policy"], data["ReportOnly"] = string(b), c.d.Policy.ReportOnly()
	c.render(w, r, status, "policy", s, data, titled("Policy"), nav("policy"))
}

// policyCheck answers POST /console/policy/check: the draft is checked as
// `vigil policy check` checks a file. Nothing changes, so a read-only
// administrator may check too.
func (c *Console) policyCheck(w http.ResponseWriter, r *http.Request, s *session) {
	if c.d.Policy == nil {
		c.fail(w, r, s, http.StatusNotFound, "The risk policy is not available in this server.")
		return
	}
	draft := r.PostFormValue("draft")
	data := map[string]any{"Draft": draft}
	msg, err := c.d.Policy.Check([]byte(draft))
	status := http.StatusOK
	if err != nil {
		data["CheckError"], status = err.Error(), http.StatusUnprocessableEntity
	} else {
		data["CheckOK"] = msg
	}
	c.showPolicy(w, r, s, status, data)
}

// policyMode answers POST /console/policy/mode: without confirm=yes it
// asks for confirmation; with it, it switches report-only on or off and
// records that in the audit log.
func (c *Console) policyMode(w http.ResponseWriter, r *http.Request, s *session) {
	if c.d.Policy == nil {
		c.fail(w, r, s, http.StatusNotFound, "The risk policy is not available in this server.")
		return
	}
	if !s.principal.Role.CanChange() {
		c.showPolicy(w, r, s, http.StatusForbidden, map[string]any{"Error": "Your role is read-only: you cannot change anything."})
		return
	}
	on := r.PostFormValue("report_only") == "true"
	if r.PostFormValue("confirm") != "yes" {
		c.render(w, r, http.StatusOK, "confirm", s, map[string]any{"On": on}, titled("Confirm policy mode"), nav("policy"))
		return
	}
	body := map[string]bool{"report_only": on}
	if err := c.call(r.Context(), s, http.MethodPut, "/admin/policy/mode", jsonBody(body), nil); err != nil {
		c.showPolicy(w, r, s, statusOf(err), map[string]any{"Error": err.Error()})
		return
	}
	http.Redirect(w, r, Prefix+"/policy?done=mode", http.StatusSeeOther)
}
