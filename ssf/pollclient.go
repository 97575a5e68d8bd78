package ssf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// RunPolling polls every trusted issuer that has an SSF poll_url (RFC 8936)
// until ctx is done, each at its poll interval. Each answer's SETs go
// through Accept; the next poll acknowledges those accepted (and those
// already seen) and reports the refused ones in setErrs. Acknowledgements
// are kept in memory: after a restart the issuer sends unacknowledged SETs
// again, and those already applied are acknowledged as duplicates.
func (rc *Receiver) RunPolling(ctx context.Context) {
	due := map[string]time.Time{}
	pending := map[string]*pollState{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		rc.pollDue(ctx, due, pending)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// pollState is what the next poll of one issuer reports back.
type pollState struct {
	ack  []string
	errs map[string]*SETError
}

func (rc *Receiver) pollDue(ctx context.Context, due map[string]time.Time, pending map[string]*pollState) {
	issuers, err := rc.store.ListIssuers(ctx)
	if err != nil {
		return
	}
	now := rc.now()
	for _, iss := range issuers {
		if iss.SSF == nil || iss.SSF.PollURL == "" || now.Before(due[iss.Issuer]) {
			continue
		}
		st := pending[iss.Issuer]
		if st == nil {
			st = &pollState{errs: map[string]*SETError{}}
			pending[iss.Issuer] = st
		}
		if err := rc.PollOnce(ctx, iss, st); err != nil && ctx.Err() == nil {
			rc.log.Warn("ssf: polling an issuer failed", "iss", iss.Issuer, "err", err)
		}
		due[iss.Issuer] = rc.now().Add(cmpOr(iss.SSF.PollInterval.D(), defaultPollInterval))
	}
}

// PollOnce polls iss once, sending st's acknowledgements, and applies what
// comes back; st then holds the next poll's acknowledgements.
func (rc *Receiver) PollOnce(ctx context.Context, iss storage.Issuer, st *pollState) error {
	req := map[string]any{"maxEvents": 50, "returnImmediately": true}
	if len(st.ack) > 0 {
		req["ack"] = st.ack
	}
	if len(st.errs) > 0 {
		req["setErrs"] = st.errs
	}
	sets, err := rc.fetch(ctx, iss, req)
	if err != nil {
		return err
	}
	st.ack, st.errs = nil, map[string]*SETError{}
	for jti, raw := range sets {
		err := rc.Accept(ctx, raw)
		var se *SETError
		switch {
		case err == nil || errors.Is(err, errDuplicate):
			st.ack = append(st.ack, jti)
		case errors.As(err, &se):
			st.errs[jti] = se
		default:
			return err // the store failed: leave the SET unacknowledged
		}
	}
	return nil
}

func (rc *Receiver) fetch(ctx context.Context, iss storage.Issuer, body map[string]any) (map[string]string, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, iss.SSF.PollURL, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if iss.SSF.PollAuthorization != "" {
		req.Header.Set("Authorization", iss.SSF.PollAuthorization)
	}
	resp, err := rc.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ssf: poll %s: HTTP %d", iss.SSF.PollURL, resp.StatusCode)
	}
	var out struct {
		Sets map[string]string `json:"sets"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("ssf: poll %s: %w", iss.SSF.PollURL, err)
	}
	return out.Sets, nil
}
