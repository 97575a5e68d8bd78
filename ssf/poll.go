package ssf

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// maxPollEvents bounds the SETs one poll answer carries.
const maxPollEvents = 100

// pollRequest is an RFC 8936 §2.1 poll request.
type pollRequest struct {
	MaxEvents         *int                      `json:"maxEvents,omitempty"`
	ReturnImmediately bool                      `json:"returnImmediately,omitempty"`
	Ack               []string                  `json:"ack,omitempty"`
	SetErrs           map[string]map[string]any `json:"setErrs,omitempty"`
}

// pollResponse is an RFC 8936 §2.2 poll answer.
type pollResponse struct {
	Sets          map[string]string `json:"sets"`
	MoreAvailable bool              `json:"moreAvailable,omitempty"`
}

// Poll serves a poll stream's endpoint (RFC 8936): acknowledged SETs (ack,
// and those reported in setErrs) leave the outbox, then up to maxEvents
// queued SETs are returned, oldest first, signed now. Without
// returnImmediately an empty outbox is waited on for up to Config.LongPoll.
// SETs stay queued until acknowledged, so an answer lost on the way is
// answered again.
func (t *Transmitter) Poll(w http.ResponseWriter, r *http.Request) {
	client, err := t.receiver(r)
	var st storage.Stream
	if err == nil {
		st, err = t.ownStream(r.Context(), client, strings.TrimPrefix(r.URL.Path, PathPoll))
	}
	if err == nil && st.Method != storage.DeliveryPoll {
		err = badRequest("the stream is not a poll stream")
	}
	var in pollRequest
	if err == nil {
		err = decode(r, &in)
	}
	var out pollResponse
	if err == nil {
		out, err = t.poll(r.Context(), st, in)
	}
	if err != nil {
		t.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (t *Transmitter) poll(ctx context.Context, st storage.Stream, in pollRequest) (pollResponse, error) {
	acks := append([]string(nil), in.Ack...)
	for jti := range in.SetErrs {
		acks = append(acks, jti)
	}
	if err := t.ack(ctx, st.ID, acks); err != nil {
		return pollResponse{}, err
	}
	limit := maxPollEvents
	if in.MaxEvents != nil {
		limit = max(0, min(*in.MaxEvents, maxPollEvents))
	}
	out := pollResponse{Sets: map[string]string{}}
	if limit == 0 || st.Status != storage.StreamEnabled {
		return out, nil
	}
	deadline := t.now().Add(t.cfg.LongPoll)
	for {
		wake := t.kick.wait()
		es, err := t.store.ListOutbox(ctx, st.ID, limit+1)
		if err != nil {
			return out, err
		}
		if len(es) > 0 || in.ReturnImmediately || !t.now().Before(deadline) {
			return t.answer(es, limit)
		}
		timer := time.NewTimer(min(t.cfg.IdlePoll, deadline.Sub(t.now())))
		select {
		case <-ctx.Done():
			timer.Stop()
			return out, nil
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (t *Transmitter) answer(es []storage.OutboxEntry, limit int) (pollResponse, error) {
	out := pollResponse{Sets: map[string]string{}, MoreAvailable: len(es) > limit}
	for _, e := range es[:min(limit, len(es))] {
		set, err := t.sign(e)
		if err != nil {
			return out, err
		}
		out.Sets[e.JTI] = set
	}
	return out, nil
}

// ack removes the named SETs from stream id's outbox; unknown ones are
// ignored (already acknowledged, or expired).
func (t *Transmitter) ack(ctx context.Context, id string, jtis []string) error {
	if len(jtis) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, j := range jtis {
		want[j] = true
	}
	es, err := t.store.ListOutbox(ctx, id, 0)
	if err != nil {
		return err
	}
	return t.store.Update(ctx, func(w storage.Writer) error {
		for _, e := range es {
			if !want[e.JTI] {
				continue
			}
			if err := w.DeleteOutbox(ctx, id, e.Seq); err != nil && !isNotFound(err) {
				return err
			}
		}
		return nil
	})
}
