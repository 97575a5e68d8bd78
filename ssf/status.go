package ssf

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/vigil-auth/vigil/storage"
)

// statusBody is a stream's status on the wire (SSF 1.0 §8.1.2).
type statusBody struct {
	StreamID string `json:"stream_id"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
}

// Status serves the status endpoint: GET reads a stream's status, POST
// sets it to enabled, paused or disabled. A paused stream keeps its events
// for later; a disabled one drops what is queued and takes nothing new.
func (t *Transmitter) Status(w http.ResponseWriter, r *http.Request) {
	client, err := t.receiver(r)
	if err == nil {
		err = t.status(w, r, client)
	}
	if err != nil {
		t.writeErr(w, r, err)
	}
}

func (t *Transmitter) status(w http.ResponseWriter, r *http.Request, client string) error {
	ctx := r.Context()
	if r.Method == http.MethodGet {
		st, err := t.ownStream(ctx, client, r.URL.Query().Get("stream_id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, statusBody{StreamID: st.ID, Status: st.Status, Reason: st.StatusReason})
		return nil
	}
	var in statusBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if !slices.Contains([]string{storage.StreamEnabled, storage.StreamPaused, storage.StreamDisabled}, in.Status) {
		return badRequest("status must be enabled, paused or disabled")
	}
	if len(in.Reason) > 256 {
		return badRequest("reason is too long")
	}
	st, err := t.changeStream(ctx, client, in.StreamID, func(st *storage.Stream) error {
		st.Status, st.StatusReason = in.Status, in.Reason
		return nil
	})
	if err != nil {
		return err
	}
	if st.Status == storage.StreamDisabled {
		if err := t.dropQueued(ctx, st.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, statusBody{StreamID: st.ID, Status: st.Status, Reason: st.StatusReason})
	return nil
}

// dropQueued empties stream id's outbox.
func (t *Transmitter) dropQueued(ctx context.Context, id string) error {
	for {
		es, err := t.store.ListOutbox(ctx, id, 500)
		if err != nil || len(es) == 0 {
			return err
		}
		err = t.store.Update(ctx, func(w storage.Writer) error {
			for _, e := range es {
				if err := w.DeleteOutbox(ctx, id, e.Seq); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

// subjectBody is an add or remove subject request (SSF 1.0 §8.1.3).
type subjectBody struct {
	StreamID string          `json:"stream_id"`
	Subject  json.RawMessage `json:"subject"`
	Verified *bool           `json:"verified,omitempty"`
}

// AddSubject serves the add subject endpoint: events about the subject go
// to the stream from now on (200).
func (t *Transmitter) AddSubject(w http.ResponseWriter, r *http.Request) {
	t.subjectChange(w, r, true)
}

// RemoveSubject serves the remove subject endpoint: events about the
// subject no longer go to the stream (204).
func (t *Transmitter) RemoveSubject(w http.ResponseWriter, r *http.Request) {
	t.subjectChange(w, r, false)
}

func (t *Transmitter) subjectChange(w http.ResponseWriter, r *http.Request, add bool) {
	client, err := t.receiver(r)
	var in subjectBody
	if err == nil {
		err = decode(r, &in)
	}
	var key string
	if err == nil {
		key, err = t.subjectKeyOf(in.Subject)
	}
	if err == nil {
		_, err = t.changeStream(r.Context(), client, in.StreamID, func(st *storage.Stream) error {
			st.Subjects = listSubject(st.Subjects, key, add != st.AllSubjects)
			return nil
		})
	}
	if err != nil {
		t.writeErr(w, r, err)
		return
	}
	if add {
		writeEmpty(w, http.StatusOK)
		return
	}
	writeEmpty(w, http.StatusNoContent)
}

// maxSubjects bounds the subjects listed on one stream.
const maxSubjects = 10000

// listSubject puts key on (in) or takes it off the list.
func listSubject(list []string, key string, in bool) []string {
	i := slices.Index(list, key)
	switch {
	case in && i < 0 && len(list) < maxSubjects:
		return append(list, key)
	case !in && i >= 0:
		return slices.Delete(list, i, i+1)
	}
	return list
}

// subjectKeyOf maps a subject identifier to the canonical key Vigil files
// it under: an opaque ID or a complex subject's session names a session; an
// iss_sub with Vigil's issuer, or a complex subject's user, names a client.
func (t *Transmitter) subjectKeyOf(raw json.RawMessage) (string, error) {
	var s Subject
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", badRequest("subject must be a subject identifier (RFC 9493)")
	}
	if s.Format == FormatComplex {
		switch {
		case s.Session != nil:
			s = *s.Session
		case s.User != nil:
			s = *s.User
		}
	}
	switch {
	case s.Format == FormatOpaque && s.ID != "":
		return sessionKey(s.ID), nil
	case s.Format == FormatIssSub && s.Iss == t.cfg.Issuer && s.Sub != "":
		return clientKey(s.Sub), nil
	}
	return "", badRequest("subject must be an opaque session ID or iss_sub of %s", t.cfg.Issuer)
}

// verifyBody is a verification request (SSF 1.0 §8.1.4).
type verifyBody struct {
	StreamID string `json:"stream_id"`
	State    string `json:"state,omitempty"`
}

// Verify serves the verification endpoint: a verification event carrying
// the receiver's state is queued on the stream (204).
func (t *Transmitter) Verify(w http.ResponseWriter, r *http.Request) {
	client, err := t.receiver(r)
	var in verifyBody
	if err == nil {
		err = decode(r, &in)
	}
	if err == nil && len(in.State) > 256 {
		err = badRequest("state is too long")
	}
	if err == nil {
		err = t.verify(r.Context(), client, in)
	}
	if err != nil {
		t.writeErr(w, r, err)
		return
	}
	writeEmpty(w, http.StatusNoContent)
}

func (t *Transmitter) verify(ctx context.Context, client string, in verifyBody) error {
	st, err := t.ownStream(ctx, client, in.StreamID)
	if err != nil {
		return err
	}
	if st.Status == storage.StreamDisabled {
		return &apiError{http.StatusConflict, "invalid_request", "the stream is disabled"}
	}
	p := map[string]any{}
	if in.State != "" {
		p["state"] = in.State
	}
	payload, _ := json.Marshal(p)
	ev := event{uri: EventVerification, subject: &Subject{Format: FormatOpaque, ID: st.ID}, at: t.now(), txn: newID()}
	err = t.store.Update(ctx, func(w storage.Writer) error { return t.queue(ctx, w, st, ev, payload) })
	if err == nil {
		t.kick.signal()
	}
	return err
}
