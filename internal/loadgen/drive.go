package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Load is how hard a scenario is driven.
type Load struct {
	// Connections is the number of workers, each with its own keep-alive
	// connection (default 32).
	Connections int
	// Rate is the total request rate to hold, per second. Zero drives the
	// server at fixed concurrency instead: each worker sends its next
	// request as soon as the previous answer arrives (closed loop).
	Rate float64
	// Duration is how long results are recorded (default 15s); Warmup runs
	// before that, unrecorded (default 2s).
	Duration time.Duration
	Warmup   time.Duration
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
}

func (l Load) withDefaults() Load {
	if l.Connections <= 0 {
		l.Connections = 32
	}
	if l.Duration <= 0 {
		l.Duration = 15 * time.Second
	}
	if l.Warmup < 0 {
		l.Warmup = 0
	}
	if l.Timeout <= 0 {
		l.Timeout = 10 * time.Second
	}
	return l
}

// Validate reports every problem with l.
func (l Load) Validate() error {
	var errs []error
	if l.Connections < 0 || l.Connections > 10000 {
		errs = append(errs, fmt.Errorf("connections %d must be in [1, 10000]", l.Connections))
	}
	if l.Rate < 0 {
		errs = append(errs, fmt.Errorf("rate %g must not be negative", l.Rate))
	}
	if l.Duration < 0 || l.Warmup < 0 {
		errs = append(errs, errors.New("duration and warmup must not be negative"))
	}
	return errors.Join(errs...)
}

// Mode describes the load model for reports.
func (l Load) Mode() string {
	if l.Rate > 0 {
		return fmt.Sprintf("fixed rate %.0f req/s over %d connections (latency from each request's scheduled time)", l.Rate, l.Connections)
	}
	return fmt.Sprintf("fixed concurrency: %d connections, closed loop", l.Connections)
}

// stepper sends one request of a scenario on c and records it in r as due
// at due. Each worker has its own stepper.
type stepper interface {
	step(ctx context.Context, c *Conn, r *recorder, due time.Time)
}

// drive runs one stepper per connection for l.Warmup plus l.Duration and
// returns the workers' records and the measured window.
func drive(ctx context.Context, t *Target, l Load, newStepper func(worker int) stepper) ([]*recorder, time.Duration) {
	start := time.Now()
	from := start.Add(l.Warmup)
	until := from.Add(l.Duration)
	recs := make([]*recorder, l.Connections)
	var wg sync.WaitGroup
	for i := range l.Connections {
		recs[i] = newRecorder(from, until)
		st := newStepper(i)
		wg.Go(func() {
			c := NewConn(t, l.Timeout)
			defer c.Close()
			if l.Rate > 0 {
				openLoop(ctx, c, st, recs[i], start, until, l, i)
			} else {
				closedLoop(ctx, c, st, recs[i], until)
			}
		})
	}
	wg.Wait()
	end := time.Now()
	if end.After(until) {
		end = until
	}
	return recs, max(end.Sub(from), 0)
}

func closedLoop(ctx context.Context, c *Conn, st stepper, r *recorder, until time.Time) {
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(until) {
			return
		}
		st.step(ctx, c, r, now)
	}
}

// openLoop sends on a fixed schedule: worker i of n sends at start +
// (i + k*n)/rate. A request that could not be sent on time is still
// measured from when it was due, so a slow server cannot hide its queueing
// (coordinated omission).
func openLoop(ctx context.Context, c *Conn, st stepper, r *recorder, start, until time.Time, l Load, i int) {
	interval := time.Duration(float64(time.Second) * float64(l.Connections) / l.Rate)
	due := start.Add(time.Duration(float64(time.Second) * float64(i) / l.Rate))
	for ctx.Err() == nil && due.Before(until) {
		if wait := time.Until(due); wait > 0 {
			if !sleep(ctx, wait) {
				return
			}
		}
		r.late(due, time.Now())
		st.step(ctx, c, r, due)
		due = due.Add(interval)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
