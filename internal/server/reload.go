package server

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/storage"
)

// Loader re-reads the configuration file and the settings around it (the
// environment and the flags the server started with), validated exactly
// as at start.
type Loader func() (*config.File, config.Settings, error)

// WithReload lets a running instance re-read its configuration file
// through load, on POST /admin/reload and [Instance.ReloadOnSIGHUP].
// Without it the admin API answers 404 there.
func WithReload(load Loader) Option { return func(o *openOptions) { o.reload = load } }

// reloader applies the configuration file of a running instance again,
// all or nothing. Settings and the policy are read once at start: a reload
// reports the ones that changed as needing a restart.
type reloader struct {
	mu      sync.Mutex
	load    Loader
	running config.Settings
	in      *Instance
}

// Reload implements admin.Reloader.
func (r *reloader) Reload(ctx context.Context) (admin.ReloadOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := admin.ReloadOutput{TerminatedSessions: []string{}, RestartRequired: []string{}}
	file, s, err := r.load()
	if err == nil && file == nil {
		err = fmt.Errorf("the configuration file is no longer named")
	}
	if err != nil {
		return out, fmt.Errorf("%w: %w", admin.ErrInvalidConfig, err)
	}
	res, err := file.Reconcile(ctx, r.in.store, r.in.hasher, r.in.now())
	if err != nil {
		return out, err
	}
	out.Result = res
	out.RestartRequired = config.Changed(r.running, s)
	out.TerminatedSessions, err = r.in.endClientSessions(ctx, res.Disabled)
	r.in.log.InfoContext(ctx, "configuration reloaded", "changed", res.Changed, "disabled_clients", res.Disabled,
		"removed", res.Removed, "terminated_sessions", len(out.TerminatedSessions), "restart_required", out.RestartRequired)
	return out, err
}

// endClientSessions terminates the active sessions of the clients ids (the
// ones the configuration file stopped declaring), so that declaring a
// client again does not bring its old tokens back.
func (in *Instance) endClientSessions(ctx context.Context, ids []string) ([]string, error) {
	ended := []string{}
	for _, id := range ids {
		ss, err := in.store.ListSessions(ctx, storage.SessionFilter{ClientID: id, Status: storage.SessionActive})
		if err != nil {
			return ended, err
		}
		for _, s := range ss {
			if err := in.Authority().TerminateSession(ctx, s.ID, "client no longer declared by the configuration file"); err != nil {
				return ended, err
			}
			ended = append(ended, s.ID)
		}
	}
	return ended, nil
}

// ReloadOnSIGHUP reloads the configuration file on every SIGHUP until ctx
// is done or stop is called. A refused file is logged and changes nothing.
// Without [WithReload] it does nothing.
func (in *Instance) ReloadOnSIGHUP(ctx context.Context) (stop func()) {
	if in.reloader == nil {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if _, err := in.reloader.Reload(ctx); err != nil {
					in.log.ErrorContext(ctx, "configuration reload refused; nothing changed", "err", err)
				}
			}
		}
	})
	return func() { signal.Stop(hup); cancel(); wg.Wait() }
}
