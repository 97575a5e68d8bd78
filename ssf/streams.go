package ssf

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"

	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/storage"
)

// StreamConfig is a stream's configuration on the wire (SSF 1.0 §8.1.1).
type StreamConfig struct {
	StreamID        string        `json:"stream_id,omitempty"`
	Issuer          string        `json:"iss,omitempty"`
	Audience        keys.Audience `json:"aud,omitempty"`
	EventsSupported []string      `json:"events_supported,omitempty"`
	EventsRequested []string      `json:"events_requested,omitempty"`
	EventsDelivered []string      `json:"events_delivered,omitempty"`
	Delivery        *Delivery     `json:"delivery,omitempty"`
	Description     string        `json:"description,omitempty"`
	// MinVerificationInterval is in seconds; 0: no limit.
	MinVerificationInterval int `json:"min_verification_interval,omitempty"`
}

// Delivery is a stream's delivery method (SSF 1.0 §8.1.1). The
// authorization header is write-only: never shown back.
type Delivery struct {
	Method              string `json:"method"`
	EndpointURL         string `json:"endpoint_url,omitempty"`
	AuthorizationHeader string `json:"authorization_header,omitempty"`
}

// config renders st for its receiver.
func (t *Transmitter) config(st storage.Stream) StreamConfig {
	return StreamConfig{StreamID: st.ID, Issuer: t.cfg.Issuer, Audience: st.Audience,
		EventsSupported: Transmitted, EventsRequested: orEmpty(st.EventsRequested),
		EventsDelivered: orEmpty(st.EventsDelivered), Description: st.Description,
		Delivery: &Delivery{Method: st.Method, EndpointURL: st.EndpointURL}}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Streams serves the configuration endpoint: create (POST), read (GET),
// update (PATCH), replace (PUT) and delete (DELETE) streams (SSF 1.0 §8.1.1).
func (t *Transmitter) Streams(w http.ResponseWriter, r *http.Request) {
	client, err := t.receiver(r)
	if err != nil {
		t.writeErr(w, r, err)
		return
	}
	switch r.Method {
	case http.MethodPost:
		err = t.createStream(w, r, client)
	case http.MethodGet:
		err = t.readStreams(w, r, client)
	case http.MethodPatch, http.MethodPut:
		err = t.updateStream(w, r, client)
	case http.MethodDelete:
		err = t.deleteStream(w, r, client)
	default:
		err = &apiError{http.StatusMethodNotAllowed, "invalid_request", "method not allowed"}
	}
	if err != nil {
		t.writeErr(w, r, err)
	}
}

func (t *Transmitter) createStream(w http.ResponseWriter, r *http.Request, client string) error {
	var in StreamConfig
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.StreamID != "" {
		return badRequest("stream_id is assigned by the transmitter")
	}
	now := t.now()
	st := storage.Stream{ID: newID(), ClientID: client, Audience: []string{client}, Status: storage.StreamEnabled,
		AllSubjects: true, CreatedAt: now, UpdatedAt: now}
	if err := t.apply(&st, in, true); err != nil {
		return err
	}
	err := t.store.Update(r.Context(), func(tx storage.Writer) error {
		all, err := tx.ListStreams(r.Context())
		if err != nil {
			return err
		}
		if n := countOwned(all, client); n >= MaxStreamsPerClient {
			return &apiError{http.StatusConflict, "invalid_request", "this receiver has too many streams"}
		}
		return tx.PutStream(r.Context(), st)
	})
	if err != nil {
		return err
	}
	t.kick.signal()
	writeJSON(w, http.StatusCreated, t.config(st))
	return nil
}

func countOwned(all []storage.Stream, client string) int {
	n := 0
	for _, st := range all {
		if st.ClientID == client {
			n++
		}
	}
	return n
}

// apply sets the receiver-supplied members of in on st. replace treats
// absent members as cleared (PUT); otherwise they are left alone (PATCH).
func (t *Transmitter) apply(st *storage.Stream, in StreamConfig, replace bool) error {
	if in.Issuer != "" && in.Issuer != t.cfg.Issuer {
		return badRequest("iss is read-only")
	}
	if len(in.Audience) > 0 && !slices.Equal(in.Audience, st.Audience) {
		return badRequest("aud is read-only")
	}
	if in.EventsRequested != nil || replace {
		st.EventsRequested = slices.Clone(in.EventsRequested)
		st.EventsDelivered = delivered(in.EventsRequested)
	}
	if in.Description != "" || replace {
		st.Description = in.Description
	}
	if len(st.Description) > 256 {
		return badRequest("description is too long")
	}
	if in.Delivery == nil {
		if replace || st.Method == "" {
			in.Delivery = &Delivery{Method: storage.DeliveryPoll}
		} else {
			return nil
		}
	}
	return t.applyDelivery(st, *in.Delivery)
}

// delivered is events_delivered: the requested events Vigil transmits, or
// every one when none were requested.
func delivered(requested []string) []string {
	if len(requested) == 0 {
		return slices.Clone(Transmitted)
	}
	out := []string{}
	for _, e := range requested {
		if slices.Contains(Transmitted, e) && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

func (t *Transmitter) applyDelivery(st *storage.Stream, d Delivery) error {
	switch d.Method {
	case storage.DeliveryPush:
		if err := checkPushURL(d.EndpointURL); err != nil {
			return err
		}
		st.EndpointURL, st.AuthorizationHeader = d.EndpointURL, d.AuthorizationHeader
	case storage.DeliveryPoll:
		if d.EndpointURL != "" && d.EndpointURL != t.cfg.Issuer+PathPoll+st.ID {
			return badRequest("a poll stream's endpoint_url is the transmitter's")
		}
		st.EndpointURL, st.AuthorizationHeader = t.cfg.Issuer+PathPoll+st.ID, ""
	default:
		return badRequest("delivery method must be %s or %s", storage.DeliveryPush, storage.DeliveryPoll)
	}
	st.Method = d.Method
	return nil
}

// checkPushURL accepts an absolute https URL, or http on a loopback host.
func checkPushURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return badRequest("endpoint_url must be an absolute https URL")
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return badRequest("endpoint_url must be https (plain http only on loopback)")
		}
	}
	return nil
}

func (t *Transmitter) readStreams(w http.ResponseWriter, r *http.Request, client string) error {
	if id := r.URL.Query().Get("stream_id"); id != "" {
		st, err := t.ownStream(r.Context(), client, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, t.config(st))
		return nil
	}
	all, err := t.store.ListStreams(r.Context())
	if err != nil {
		return err
	}
	out := []StreamConfig{}
	for _, st := range all {
		if st.ClientID == client {
			out = append(out, t.config(st))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (t *Transmitter) updateStream(w http.ResponseWriter, r *http.Request, client string) error {
	var in StreamConfig
	if err := decode(r, &in); err != nil {
		return err
	}
	st, err := t.changeStream(r.Context(), client, in.StreamID, func(st *storage.Stream) error {
		// Transmitter-supplied members may be sent back, but must match
		// their values before the update (SSF 1.0 §8.1.1.3, §8.1.1.4).
		if in.EventsDelivered != nil && !sameSet(in.EventsDelivered, st.EventsDelivered) {
			return badRequest("events_delivered does not match the stream's")
		}
		if in.EventsSupported != nil && !sameSet(in.EventsSupported, Transmitted) {
			return badRequest("events_supported does not match the transmitter's")
		}
		return t.apply(st, in, r.Method == http.MethodPut)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t.config(st))
	return nil
}

// changeStream applies change to the client's stream id in one transaction.
func (t *Transmitter) changeStream(ctx context.Context, client, id string, change func(*storage.Stream) error) (storage.Stream, error) {
	if id == "" {
		return storage.Stream{}, badRequest("stream_id is required")
	}
	var out storage.Stream
	err := t.store.Update(ctx, func(w storage.Writer) error {
		st, err := w.GetStream(ctx, id)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && st.ClientID != client) {
			return errNoStream
		}
		if err != nil {
			return err
		}
		if err := change(&st); err != nil {
			return err
		}
		st.UpdatedAt = t.now()
		out = st
		return w.PutStream(ctx, st)
	})
	if err == nil {
		t.kick.signal()
	}
	return out, err
}

func (t *Transmitter) deleteStream(w http.ResponseWriter, r *http.Request, client string) error {
	id := r.URL.Query().Get("stream_id")
	if _, err := t.ownStream(r.Context(), client, id); err != nil {
		return err
	}
	err := t.store.Update(r.Context(), func(w storage.Writer) error { return w.DeleteStream(r.Context(), id) })
	if errors.Is(err, storage.ErrNotFound) {
		return errNoStream
	}
	if err != nil {
		return err
	}
	t.kick.signal()
	writeEmpty(w, http.StatusNoContent)
	return nil
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
