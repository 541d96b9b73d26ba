package wizard

import (
	"context"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) tick(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock            { return &fakeClock{t: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)} }
func mib(n int64) int64                   { return n << 20 }
func bytesP(done, total int64) Progress {
	return Progress{Phase: "archive", What: "bytes", Done: done, Total: total}
}
func filesP(p Progress, done, total int64) Progress {
	p.DoneFiles, p.TotalFiles = done, total
	return p
}

func TestMeterETA(t *testing.T) {
	type obs struct {
		after time.Duration
		p     Progress
	}
	for _, c := range []struct {
		name     string
		seen     []obs
		wantRate float64
		wantETA  time.Duration
		known    bool
	}{
		{"the rest at the average rate since the phase began",
			[]obs{{0, bytesP(0, mib(100))}, {10 * time.Second, bytesP(mib(25), mib(100))}},
			float64(mib(25)) / 10, 30 * time.Second, true},
		{"the rate is the average over the phase, not the last interval",
			[]obs{{0, bytesP(0, mib(100))}, {5 * time.Second, bytesP(mib(40), mib(100))}, {5 * time.Second, bytesP(mib(50), mib(100))}},
			float64(mib(50)) / 10, 10 * time.Second, true},
		{"no total, no ETA: the counts and the rate only",
			[]obs{{0, bytesP(0, 0)}, {4 * time.Second, bytesP(mib(8), 0)}},
			float64(mib(8)) / 4, 0, false},
		{"the first report has no rate yet",
			[]obs{{0, bytesP(mib(1), mib(100))}},
			0, 0, false},
		{"with byte and file totals the slower of the two decides",
			[]obs{{0, filesP(bytesP(0, mib(100)), 0, 1000)}, {10 * time.Second, filesP(bytesP(mib(50), mib(100)), 100, 1000)}},
			float64(mib(50)) / 10, 90 * time.Second, true},
		{"a new phase (verify after archive) starts the clock again",
			[]obs{{0, bytesP(0, mib(100))}, {60 * time.Second, bytesP(mib(100), mib(100))},
				{time.Second, Progress{Phase: "verify", What: "bytes", Done: 0, Total: mib(100)}},
				{2 * time.Second, Progress{Phase: "verify", What: "bytes", Done: mib(20), Total: mib(100)}}},
			float64(mib(20)) / 2, 8 * time.Second, true},
		{"counts that go back (the step's next action) start the clock again",
			[]obs{{0, bytesP(0, mib(10))}, {10 * time.Second, bytesP(mib(10), mib(10))},
				{time.Second, bytesP(0, mib(40))}, {4 * time.Second, bytesP(mib(10), mib(40))}},
			float64(mib(10)) / 4, 12 * time.Second, true},
		{"done is done", []obs{{0, bytesP(0, mib(10))}, {3 * time.Second, bytesP(mib(10), mib(10))}},
			float64(mib(10)) / 3, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := newFakeClock()
			m := NewMeter(clk.now)
			var got Progress
			for _, o := range c.seen {
				clk.tick(o.after)
				got = m.Observe(o.p)
			}
			if got.Rate != c.wantRate || got.ETA != c.wantETA || got.ETAKnown != c.known {
				t.Fatalf("rate %.0f ETA %v known %v, want %.0f %v %v", got.Rate, got.ETA, got.ETAKnown, c.wantRate, c.wantETA, c.known)
			}
		})
	}
}

// TestMeterDueDoesNotFlood: of a report per file, the faces get the first,
// one per interval, and the last.
func TestMeterDueDoesNotFlood(t *testing.T) {
	clk := newFakeClock()
	m := NewMeter(clk.now)
	shown := 0
	var last Progress
	for i := int64(0); i <= 1000; i++ {
		clk.tick(10 * time.Millisecond)
		p := m.Observe(filesP(bytesP(i*1000, 1000*1000), i, 1000))
		if m.Due(p, 250*time.Millisecond) {
			shown++
			last = p
		}
	}
	// 10 s of reports at one per 250 ms, plus the last.
	if shown < 40 || shown > 42 {
		t.Fatalf("%d of 1001 reports shown, want about 41", shown)
	}
	if last.DoneFiles != 1000 {
		t.Fatalf("the last report shown is %d files, want the complete 1000", last.DoneFiles)
	}
}

// progressStep's one action reports 100 MiB in 1 MiB steps, 10 ms apart on
// the test's clock.
type progressStep struct {
	fakeStep
	clk *fakeClock
}

func (s *progressStep) Plan(ctx context.Context, env *Env) ([]Action, error) {
	return []Action{{Summary: "archive", Idempotent: true, Do: func(ctx context.Context, r *Receipt) error {
		for i := int64(0); i <= 100; i++ {
			s.clk.tick(10 * time.Millisecond)
			env.Progress(Progress{Phase: "archive", What: "bytes", Done: mib(i), Total: mib(100), DoneFiles: i, TotalFiles: 100})
		}
		return nil
	}}}, nil
}

// TestTheRunnerMetersAndThrottlesProgress: the runner hands the faces a
// long action's progress with its step, rate and ETA on the run's clock, at
// most four times a second, the last report included.
func TestTheRunnerMetersAndThrottlesProgress(t *testing.T) {
	h := newHarness(t)
	clk := newFakeClock()
	h.steps = []Step{&progressStep{fakeStep{id: "backup/b", dir: h.dir, n: 1}, clk}}
	r, done := h.runner(t, Options{})
	r.Env.Now = clk.now
	err := r.Apply(context.Background())
	done()
	if err != nil {
		t.Fatal(err)
	}
	var ps []Progress
	for _, e := range h.events {
		if e.Kind == EvProgress {
			ps = append(ps, *e.Progress)
		}
	}
	// 1 s of reports: the first, one each 250 ms, the last.
	if len(ps) < 5 || len(ps) > 6 {
		t.Fatalf("%d progress events of 101 reports over 1 s, want 5 or 6", len(ps))
	}
	last := ps[len(ps)-1]
	if last.Step != "backup/b" || last.Done != mib(100) || !last.ETAKnown || last.ETA != 0 {
		t.Errorf("last progress %+v, want the step's, complete, ETA 0", last)
	}
	mid := ps[2]
	// 1 MiB per 10 ms: 100 MiB/s, and the rest of 100 MiB at that rate.
	if mid.Rate != float64(mib(100)) || mid.ETA != time.Duration(float64(mib(100)-mid.Done)/mid.Rate*float64(time.Second)) {
		t.Errorf("progress %+v: want 100 MiB/s and the ETA of the rest", mid)
	}
}
