package server

import (
	"context"
	"net/http"
	"sync"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/internal/cluster"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/ssf"
	"github.com/vigil-auth/vigil/storage"
)

// signals is the Shared Signals transmitter and receiver, and their
// background work: the push worker, the risk level writer and the poll
// client.
type signals struct {
	tx    *ssf.Transmitter
	watch *ssf.LevelWatch
	// judge is what the endpoints call: the level watch in front of the
	// engine, or, on a cluster member, the router (the watch is then on
	// the owner's side of it).
	judge Risk
	rc    *ssf.Receiver
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

// buildSignals creates the transmitter and the risk level watch, which the
// endpoints call in front of the risk engine (and its report-only switch). startSignals starts the background work; Close
// stops it.
func (s *Server) buildSignals() error {
	opts := []ssf.Option{ssf.WithClock(s.d.Now), ssf.WithLogger(s.d.Log)}
	if s.d.PushGate != nil {
		opts = append(opts, ssf.WithPushGate(s.d.PushGate))
	}
	tx, err := ssf.NewTransmitter(ssf.Config{Issuer: s.cfg.Issuer}, s.tracedStore(), s.d.Keys, authz.TokenID, opts...)
	if err != nil {
		return err
	}
	var watch *ssf.LevelWatch
	judge := Risk(nil)
	if r, ok := s.d.Peer.(*cluster.Router); ok {
		// A session's level moves where it is judged: on its client's
		// owner, which sees all its decisions, so each change is sent once.
		r.WrapLocal(func(local cluster.Judge) cluster.Judge {
			watch = ssf.WatchLevels(local, tx)
			return watch
		})
		judge = s.risk()
	} else {
		watch = ssf.WatchLevels(s.risk(), tx)
		judge = watch
	}
	s.signals = &signals{tx: tx, watch: watch, judge: judge, stop: func() {}}
	return nil
}

// startSignals creates the receiver over the authority (issuer keys come
// through cache) and starts the background work.
func (s *Server) startSignals(cache *keys.JWKSCache) {
	sg := s.signals
	sg.rc = ssf.NewReceiver(s.cfg.Issuer, s.tracedStore(), setVerifier{cache}, s.authz, s.d.Log, s.d.Now)
	ctx, cancel := context.WithCancel(context.Background())
	sg.stop = cancel
	sg.wg.Go(func() { sg.tx.Run(ctx) })
	sg.wg.Go(func() { sg.watch.Run(ctx) })
	sg.wg.Go(func() { sg.rc.RunPolling(ctx) })
}

// mountSignals registers the transmitter's and the receiver's endpoints.
func (s *Server) mountSignals(r *web.Router) {
	tx := s.signals.tx
	r.HandleFunc(ssf.PathConfiguration, tx.Configuration, http.MethodGet)
	r.HandleFunc(ssf.PathStreams, tx.Streams, http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete)
	r.HandleFunc(ssf.PathStatus, tx.Status, http.MethodGet, http.MethodPost)
	r.HandleFunc(ssf.PathAddSubject, tx.AddSubject, http.MethodPost)
	r.HandleFunc(ssf.PathRemoveSubject, tx.RemoveSubject, http.MethodPost)
	r.HandleFunc(ssf.PathVerify, tx.Verify, http.MethodPost)
	r.HandleFunc(ssf.PathEvents, s.signals.rc.Push, http.MethodPost)
}

// mountPoll registers the poll endpoint, a path template, after the exact paths.
func (s *Server) mountPoll(r *web.Router) {
	r.HandleFunc(ssf.PathPoll+"{stream}", s.signals.tx.Poll, http.MethodPost)
}

// closeSignals stops the background work and waits for it.
func (s *Server) closeSignals() {
	if s.signals == nil {
		return
	}
	s.signals.stop()
	s.signals.wg.Wait()
}

// setVerifier verifies inbound SETs with a trusted issuer's keys.
type setVerifier struct{ cache *keys.JWKSCache }

// VerifySET implements ssf.SETVerifier.
func (v setVerifier) VerifySET(ctx context.Context, raw string, iss storage.Issuer, out any) (string, error) {
	var h keys.Header
	var err error
	switch {
	case len(iss.JWKS) > 0:
		h, err = keys.VerifyWithJWKS(raw, iss.JWKS, iss.Algorithms, out)
	case iss.JWKSURI != "":
		h, err = v.cache.Verify(ctx, iss.JWKSURI, raw, iss.Algorithms, out)
	default:
		err = keys.ErrInvalidToken
	}
	return h.Type, err
}
