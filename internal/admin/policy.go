package admin

import (
	"net/http"
	"strconv"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// PolicySwitch is the risk policy in force, whose report-only mode can be
// switched at run time (until the server restarts, when the configuration
// file's policy applies again).
type PolicySwitch interface {
	Policy() risk.Policy
	ReportOnly() bool
	SetReportOnly(on bool)
}

// PolicyOutput is the answer of GET /admin/policy.
type PolicyOutput struct {
	ReportOnly bool        `json:"report_only"`
	Policy     risk.Policy `json:"policy"`
}

// policyMode is the body of PUT /admin/policy/mode.
type policyMode struct {
	ReportOnly *bool `json:"report_only"`
}

// getPolicy answers GET /admin/policy.
func (a *API) getPolicy(w http.ResponseWriter, r *http.Request) {
	if a.d.Policy == nil {
		a.fail(w, r, notFound("the risk policy is not available"))
		return
	}
	writeJSON(w, http.StatusOK, PolicyOutput{ReportOnly: a.d.Policy.ReportOnly(), Policy: a.d.Policy.Policy()})
}

// putPolicyMode answers PUT /admin/policy/mode {"report_only": bool}:
// decisions become advisory (true) or enforced (false) at once, and the
// change is audited.
func (a *API) putPolicyMode(w http.ResponseWriter, r *http.Request) {
	if a.d.Policy == nil {
		a.fail(w, r, notFound("the risk policy is not available"))
		return
	}
	var in policyMode
	if err := decodeBody(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.ReportOnly == nil {
		a.fail(w, r, badRequest("report_only (true or false) is required"))
		return
	}
	err := a.d.Store.Update(r.Context(), func(wr storage.Writer) error {
		return a.auditIn(r.Context(), wr, storage.AuditRecord{Outcome: "policy mode",
			Detail: "report_only=" + strconv.FormatBool(*in.ReportOnly)})
	})
	if err != nil {
		a.fail(w, r, storeErr(err, "audit log"))
		return
	}
	a.d.Policy.SetReportOnly(*in.ReportOnly)
	a.d.Log.InfoContext(r.Context(), "admin: policy mode changed", "report_only", *in.ReportOnly)
	writeJSON(w, http.StatusOK, PolicyOutput{ReportOnly: a.d.Policy.ReportOnly(), Policy: a.d.Policy.Policy()})
}
