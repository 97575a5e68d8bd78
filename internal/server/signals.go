package server

import (
	"context"
	"net/http"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/ssf"
)

// signals is the Shared Signals transmitter and its delivery worker.
type signals struct {
	tx   *ssf.Transmitter
	stop context.CancelFunc
	done chan struct{}
}

// buildSignals creates the transmitter and starts its push worker; Close
// stops it.
func (s *Server) buildSignals() error {
	tx, err := ssf.NewTransmitter(ssf.Config{Issuer: s.cfg.Issuer}, s.d.Store, s.d.Keys, authz.TokenID,
		ssf.WithClock(s.d.Now), ssf.WithLogger(s.d.Log))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.signals = &signals{tx: tx, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.signals.done)
		tx.Run(ctx)
	}()
	return nil
}

// mountSignals registers the transmitter's endpoints.
func (s *Server) mountSignals(r *web.Router) {
	tx := s.signals.tx
	r.HandleFunc(ssf.PathConfiguration, tx.Configuration, http.MethodGet)
	r.HandleFunc(ssf.PathStreams, tx.Streams, http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete)
	r.HandleFunc(ssf.PathStatus, tx.Status, http.MethodGet, http.MethodPost)
	r.HandleFunc(ssf.PathAddSubject, tx.AddSubject, http.MethodPost)
	r.HandleFunc(ssf.PathRemoveSubject, tx.RemoveSubject, http.MethodPost)
	r.HandleFunc(ssf.PathVerify, tx.Verify, http.MethodPost)
}

// mountPoll registers the poll endpoint, a path template, after the exact paths.
func (s *Server) mountPoll(r *web.Router) {
	r.HandleFunc(ssf.PathPoll+"{stream}", s.signals.tx.Poll, http.MethodPost)
}

// closeSignals stops the push worker and waits for it.
func (s *Server) closeSignals() {
	if s.signals == nil {
		return
	}
	s.signals.stop()
	<-s.signals.done
}
