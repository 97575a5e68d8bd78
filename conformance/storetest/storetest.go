// Package storetest is the conformance suite every [storage.Store] backend
// must pass. Backend tests call [Run]; nothing but tests imports it.
//
// The suite pins the contract's details that storage.go leaves to prose:
// errors are compared with errors.Is, so backends may wrap; results never
// alias the store; an Update whose fn fails writes nothing; records are
// live while now is before their expiry (as in storage.Token.Active);
// DeleteExpired counts every removed token, single-use identifier, session
// and event; a closed store answers storage.ErrUnavailable.
//
// Fixtures use UTC times and compact JSON so that records survive a
// serializing backend unchanged and compare with reflect.DeepEqual.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// NewFunc returns a new, empty store. Run closes it when the subtest ends.
type NewFunc func(t *testing.T) storage.Store

// Run runs every conformance test against fresh stores from newStore. The
// subtests run in parallel, each with its own store.
func Run(t *testing.T, newStore NewFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"ListOrder", testListOrder},
		{"NotFound", testNotFound},
		{"AlreadyExists", testAlreadyExists},
		{"Delete", testDelete},
		{"EmptyKeyRefused", testEmptyKeyRefused},
		{"ReturnsCopies", testReturnsCopies},
		{"UpdateAbortWritesNothing", testUpdateAbort},
		{"UpdateSeesOwnWrites", testUpdateOwnWrites},
		{"UpdateConcurrent", testUpdateConcurrent},
		{"UseJTI", testUseJTI},
		{"UseJTIConcurrent", testUseJTIConcurrent},
		{"ListSessions", testListSessions},
		{"ListSessionTokens", testListSessionTokens},
		{"EventSeq", testEventSeq},
		{"Audit", testAudit},
		{"DeleteExpired", testDeleteExpired},
		{"Streams", testStreams},
		{"Outbox", testOutbox},
		{"Closed", testClosed},
		{"CancelledContext", testCancelledContext},
		{"Registration", testRegistration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.run(t, s)
		})
	}
}

// t0 is the suite's reference time. It has nanoseconds, so a backend that
// drops precision fails the round trips.
var t0 = time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

var errBoom = errors.New("storetest: deliberate failure")

// update runs fn in s.Update and fails the test if it returns an error.
func update(t *testing.T, s storage.Store, fn func(ctx context.Context, w storage.Writer) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.Update(ctx, func(w storage.Writer) error { return fn(ctx, w) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// must fails the test if err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get calls fn and fails the test if it returns an error.
func get[T any](t *testing.T, what string, fn func(ctx context.Context) (T, error)) T {
	t.Helper()
	v, err := fn(t.Context())
	must(t, what, err)
	return v
}

// equal reports a difference between got and want.
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// diff returns an error describing how got differs from want, or nil. Code
// running inside Update uses it instead of t.Fatal: a backend may run fn on
// another goroutine, and more than once.
func diff(what string, got, want any) error {
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
	return nil
}

// isErr reports err unless it matches target.
func isErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want errors.Is %v", what, err, target)
	}
}

// seedSessions creates sessions with the given IDs for client "c1".
func seedSessions(t *testing.T, s storage.Store, ids ...string) {
	t.Helper()
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		for _, id := range ids {
			if err := w.CreateSession(ctx, newSession(id, "c1", t0)); err != nil {
				return err
			}
		}
		return nil
	})
}
