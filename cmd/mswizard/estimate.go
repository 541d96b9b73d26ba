package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"mswizard/backup"
	"mswizard/internal/atomicfile"
	"mswizard/steps"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// The downtime estimate. Mail is refused from the dispatcher's stop to its
// start in post/start (seed 003: the dispatcher is stopped first so no mail
// is accepted while the rest goes down, and started last but the job
// controller). What happens in between is mostly reading and compressing the
// server root and the queue, twice (the archive, then its verification), so
// the estimate measures the sizes as preflight/disk-space does and the rate
// at which this host reads and compresses a sample of them. The rest is taken
// as fixed costs, stated in the basis so nobody mistakes them for a
// measurement.
const (
	refusedFrom = "stop/dispatcher"
	refusedTo   = "post/start"
	// sampleBytes bounds the short read that measures the backup's rate.
	sampleBytes = 32 << 20
	// perCommand is the assumed cost of one service command or small
	// action; perInstall the installer's fixed cost beyond one pass over the
	// server root.
	perCommand = 2 * time.Second
	perInstall = 10 * time.Second
)

// estimateFile keeps the estimate made before the first run, so the report
// compares what happened with what was expected then.
const estimateFile = "estimate.json"

type savedEstimate struct {
	Made     time.Time                `json:"made"`
	Steps    map[string]time.Duration `json:"steps_ns"`
	Downtime *wizard.Downtime         `json:"downtime,omitempty"`
}

// measure is what the estimate rests on.
type measure struct {
	rootFiles, rootBytes   int64
	queueFiles, queueBytes int64
	// sample: bytes and files read and compressed in sampleTime.
	sampleBytes, sampleFiles int64
	sampleTime               time.Duration
}

func measureHost(ctx context.Context, cfg *steps.Config) (measure, error) {
	var m measure
	h := cfg.Host
	root := h.ServerRoot()
	var excludes []string
	for _, p := range []string{h.StorePrimary(), h.StorePrimary() + ".mswizard-aside", cfg.BackupDir} {
		if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
			excludes = append(excludes, rel)
		}
	}
	var err error
	if m.rootFiles, m.rootBytes, err = backup.Estimate(ctx, root, excludes); err != nil {
		return m, fmt.Errorf("size the server root: %w", err)
	}
	m.queueFiles, m.queueBytes, _ = backup.Estimate(ctx, h.QueueDir(), nil)
	m.sampleBytes, m.sampleFiles, m.sampleTime, err = sampleRate(ctx, root, sampleBytes)
	return m, err
}

// sampleRate reads and zstd-compresses files under root, as a backup does,
// until limit bytes, and says how long it took.
func sampleRate(ctx context.Context, root string, limit int64) (bytes, files int64, took time.Duration, err error) {
	enc, err := zstd.NewWriter(io.Discard, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return 0, 0, 0, err
	}
	defer enc.Close()
	start := time.Now()
	errDone := fmt.Errorf("enough")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts are preflight's business
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		n, _ := io.Copy(enc, io.LimitReader(f, limit-bytes))
		f.Close()
		bytes += n
		files++
		if bytes >= limit {
			return errDone
		}
		return nil
	})
	_ = enc.Flush()
	if err == errDone {
		err = nil
	}
	return bytes, files, time.Since(start), err
}

// passTime is how long one read-and-compress pass over files/bytes takes at
// the sampled rate: whichever of the byte rate and the file rate is slower.
func (m measure) passTime(files, bytes int64) time.Duration {
	if m.sampleTime <= 0 || (m.sampleBytes == 0 && m.sampleFiles == 0) {
		return 0
	}
	r := 0.0
	if m.sampleBytes > 0 {
		r = float64(bytes) / float64(m.sampleBytes)
	}
	if m.sampleFiles > 0 {
		r = max(r, float64(files)/float64(m.sampleFiles))
	}
	return time.Duration(r * float64(m.sampleTime))
}

// estimateStep is how long one planned step should take.
func (m measure) estimateStep(p wizard.PlannedStep) time.Duration {
	n := time.Duration(len(p.Actions))
	switch p.ID {
	case "backup/queue":
		return 2*m.passTime(m.queueFiles, m.queueBytes) + time.Second // archive, then verified
	case "backup/server-root":
		return 2*m.passTime(m.rootFiles, m.rootBytes) + time.Second
	case "backup/verify":
		return m.passTime(m.rootFiles+m.queueFiles, m.rootBytes+m.queueBytes) + time.Second
	case "upgrade/run-installer":
		return perInstall + m.passTime(m.rootFiles, m.rootBytes)
	}
	return n * perCommand
}

// estimatePlan fills in the plan's estimates: each pending step's, and how
// long mail will be refused.
func estimatePlan(ctx context.Context, s *session, rep *wizard.PlanReport) error {
	return s.run.estimate(ctx, s, rep)
}

// apply sets the estimates of rep's steps and of the mail-refused window.
func (m measure) apply(rep *wizard.PlanReport) {
	var refused time.Duration
	in := false
	seen := false
	stops := 0
	for i := range rep.Steps {
		p := &rep.Steps[i]
		if strings.HasPrefix(p.ID, "stop/") {
			stops += len(p.Actions)
		}
		switch {
		case len(p.Actions) > 0:
			p.Estimate = m.estimateStep(*p)
		case p.ID == refusedTo:
			// Before the stops the services run, so its goal holds now:
			// it will start what the stops stopped, one command per
			// service, and check them.
			p.Estimate = time.Duration(max(stops, 1)+1) * perCommand
		case p.Error != "" && !p.Done:
			p.Estimate = perCommand
		}
		if p.ID == refusedFrom {
			in, seen = true, true
		}
		if in {
			refused += p.Estimate
		}
		if p.ID == refusedTo {
			in = false
		}
	}
	if !seen || refused == 0 {
		return
	}
	rate := 0.0
	if m.sampleTime > 0 {
		rate = float64(m.sampleBytes) / m.sampleTime.Seconds() / (1 << 20)
	}
	rep.Downtime = &wizard.Downtime{
		What: "mail is refused", From: refusedFrom, To: refusedTo, Estimate: refused,
		Basis: fmt.Sprintf("the server root (%d files, %s) and the queue (%d files, %s) read and compressed twice at the %.0f MiB/s this host read and compressed a %s sample, plus %s per service command and %s for the installer (assumed)",
			m.rootFiles, humanBytes(m.rootBytes), m.queueFiles, humanBytes(m.queueBytes), rate, humanBytes(m.sampleBytes), perCommand, perInstall),
	}
}

// planWithEstimate is Runner.Plan with the estimates filled in; an estimate
// that cannot be made leaves the plan as it is.
func planWithEstimate(ctx context.Context, s *session, r *wizard.Runner, recs []journal.Record) (*wizard.PlanReport, error) {
	rep, err := r.Plan(ctx, recs)
	if err != nil {
		return nil, err
	}
	if err := estimatePlan(ctx, s, rep); err != nil {
		s.env.Log.Warn("estimate", "err", err)
	}
	return rep, nil
}

// saveEstimate keeps the first estimate made for a run, before anything ran.
func saveEstimate(s *session, rep *wizard.PlanReport) {
	p := filepath.Join(s.state, estimateFile)
	if _, err := os.Stat(p); err == nil || rep.Downtime == nil {
		return
	}
	e := savedEstimate{Made: time.Now().UTC(), Steps: map[string]time.Duration{}, Downtime: rep.Downtime}
	for _, st := range rep.Steps {
		if st.Estimate > 0 {
			e.Steps[st.ID] = st.Estimate
		}
	}
	b, _ := json.MarshalIndent(e, "", "  ")
	if err := atomicfile.WriteFile(p, b, 0o600); err != nil {
		s.env.Log.Error("estimate", "err", err)
	}
}

// estimateBeforeRun makes and keeps the estimate before the first run of an
// upgrade, so the report can compare; later runs keep the first.
func estimateBeforeRun(ctx context.Context, s *session, r *wizard.Runner) {
	if _, err := os.Stat(filepath.Join(s.state, estimateFile)); err == nil {
		return
	}
	recs, err := s.records()
	if err != nil || len(recs) > 0 {
		return // the run began before estimates were kept
	}
	if rep, err := planWithEstimate(ctx, s, &wizard.Runner{Steps: r.Steps, Env: r.Env, Opts: r.Opts}, recs); err == nil {
		saveEstimate(s, rep)
	}
}
