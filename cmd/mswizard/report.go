package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mswizard/internal/atomicfile"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

func reportPath(s *session) string { return filepath.Join(s.state, "report.md") }

// Report is the run report's JSON form (report.json beside report.md).
type Report struct {
	Version   int                  `json:"version"`
	Generated time.Time            `json:"generated"`
	StateDir  string               `json:"state_dir"`
	Journal   string               `json:"journal"`
	Steps     []reportStep         `json:"steps"`
	Backout   []wizard.BackoutStep `json:"backout_now"`
	// MailRefused is the window in which the dispatcher did not accept mail.
	MailRefused *mailWindow `json:"mail_refused,omitempty"`
	// MailRefusedEstimate is what the plan estimated before the first run.
	MailRefusedEstimate *wizard.Downtime `json:"mail_refused_estimate,omitempty"`
	Findings            []wizard.Finding `json:"findings,omitempty"`
	// Host is what the steps read on the host when the report was written
	// (the queue backup/queue would save, the free space preflight/disk-space
	// weighs), by their rules: what `status` shows at the same moment.
	Host map[string]wizard.Count `json:"host,omitempty"`
}

type reportStep struct {
	ID       string           `json:"id"`
	State    wizard.StepState `json:"state"`
	Node     string           `json:"node,omitempty"`
	Why      string           `json:"why,omitempty"`
	Error    string           `json:"error,omitempty"`
	Receipts []wizard.Receipt `json:"receipts,omitempty"`
	Start    time.Time        `json:"start,omitzero"`
	End      time.Time        `json:"end,omitzero"`
	// Active is the time the step's actions ran (begin to outcome), without
	// the pauses between runs.
	Active    time.Duration `json:"active_ns,omitempty"`
	Estimated time.Duration `json:"estimated_ns,omitempty"`
	Decisions []string      `json:"decisions,omitempty"`
}

// findingsFile keeps the preflight's findings of the last run for the report.
const findingsFile = "findings.json"

// recordFindings passes events on and keeps the preflight's findings in the
// state directory, so every later report (after a resume or a backout) shows
// what the preflight found.
func recordFindings(s *session, next func(wizard.Event)) func(wizard.Event) {
	return func(e wizard.Event) {
		if e.Kind == wizard.EvPreflight {
			b, _ := json.MarshalIndent(e.Findings, "", "  ")
			if err := atomicfile.WriteFile(filepath.Join(s.state, findingsFile), b, 0o600); err != nil {
				s.env.Log.Error("findings", "err", err)
			}
		}
		if next != nil {
			next(e)
		}
	}
}

// writeReport renders what the journal says ran, with its evidence, as
// Markdown, HTML and JSON in the state directory. It is written after every
// run and backout, so `mswizard status` can point at it; failures to write it
// are logged, not fatal.
func writeReport(ctx context.Context, s *session, j *journal.Journal) {
	recs := j.Records()
	r := &wizard.Runner{Steps: s.steps, Env: s.env}
	backout, _ := r.BackoutPlan(ctx, recs)
	in := reportInput{
		Generated: time.Now().UTC(),
		StateDir:  s.state,
		Journal:   j.Path(),
		Records:   recs,
		Backout:   backout,
		Hash:      newHashCache(filepath.Join(s.state, "report-hashes.json")),
		Host:      wizard.CountsOf(ctx, s.env, s.steps),
	}
	in.ConfigDecisions = s.run.decisions()
	for _, step := range s.steps {
		in.Steps = append(in.Steps, stepInfo{ID: step.ID(), Title: step.Title(), Node: stepNode(step)})
	}
	if b, err := os.ReadFile(filepath.Join(s.state, findingsFile)); err == nil {
		_ = json.Unmarshal(b, &in.Findings)
	}
	if b, err := os.ReadFile(filepath.Join(s.state, estimateFile)); err == nil {
		var e savedEstimate
		if json.Unmarshal(b, &e) == nil {
			in.Estimate = &e
		}
	}
	rep := buildReport(in)
	in.Hash.save()
	js, _ := json.MarshalIndent(rep.JSON(), "", "  ")
	var md, html strings.Builder
	renderMarkdown(&md, rep)
	if err := renderHTML(&html, rep); err != nil {
		s.env.Log.Error("report", "file", "report.html", "err", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"report.md", []byte(md.String())}, {"report.html", []byte(html.String())}, {"report.json", js}} {
		if err := atomicfile.WriteFile(filepath.Join(s.state, f.name), f.data, 0o600); err != nil {
			s.env.Log.Error("report", "file", f.name, "err", err)
		}
	}
}

// stepInfo is what the report needs of a runbook step.
type stepInfo struct{ ID, Title, Node string }

// reportInput is everything a report is made of, so tests build one from a
// journal written by hand.
type reportInput struct {
	Generated       time.Time
	StateDir        string
	Journal         string
	Steps           []stepInfo
	Records         []journal.Record
	Backout         []wizard.BackoutStep
	Findings        []wizard.Finding
	ConfigDecisions []string
	Hash            *hashCache
	Estimate        *savedEstimate // made before the first run, if any
	Host            map[string]wizard.Count
}

// runReport is the report's model; the Markdown and HTML renderings read it.
type runReport struct {
	Generated time.Time
	StateDir  string
	Journal   string
	BackedOut bool
	// BackoutDecision says who confirmed the backout (the last one the
	// journal holds), "" when none was journaled.
	BackoutDecision string
	Start, End      time.Time
	Steps           []*stepView
	Window          *mailWindow
	Findings        []wizard.Finding
	Backout         []wizard.BackoutStep
	// Estimated is the downtime estimated before the first run.
	Estimated *wizard.Downtime
	// Host is what the steps read on the host as the report was written.
	Host    []hostCount
	hostRaw map[string]wizard.Count
}

// hostCount is one count a step computed, as the faces say it.
type hostCount struct{ Name, Text string }

// hostCounts orders counts by name and says each as `status` says it.
func hostCounts(cs map[string]wizard.Count) []hostCount {
	var out []hostCount
	for _, n := range slices.Sorted(maps.Keys(cs)) {
		out = append(out, hostCount{Name: n, Text: countLine(cs[n])})
	}
	return out
}

type stepView struct {
	ID, Title  string
	Node       string // the node it ran on, for a run across nodes ("" otherwise)
	State      wizard.StepState
	Start, End time.Time
	Active     time.Duration
	Estimated  time.Duration // before the first run; zero when none was made
	// Note is why a step was skipped or what stopped it; an error the step
	// got past (a decision taken, a retry) is not repeated.
	Note      string
	Failed    bool
	Decisions []string
	Evidence  []evidence
	InWindow  bool
	receipts  []wizard.Receipt
	why, err  string
	// BarLeft and BarWidth place the step on the timeline, in percent.
	BarLeft, BarWidth float64
}

type evidence struct {
	Summary   string
	Command   *wizard.Result
	Duration  time.Duration
	Files     []fileView
	Note      string
	Facts     []fact
	Decisions []mergeDecision
	// Checks are the rendered results of a check step (its .txt files).
	Checks []checkText
}

type fileView struct {
	Path    string
	Size    int64
	SHA256  string
	Missing bool // the file is no longer where the receipt says
}

type fact struct{ Key, Value string }

type mergeDecision struct {
	File   string `json:"file"`
	Key    string `json:"key"`
	Choice string `json:"choice"`
}

type checkText struct{ Name, Text string }

// mailWindow is the time the dispatcher did not accept mail: from the stop of
// the dispatcher (seed 003: it is stopped first so no mail is accepted while
// the rest goes down) to its start after the upgrade, or to the backout's.
type mailWindow struct {
	From   time.Time     `json:"from"`
	To     time.Time     `json:"to,omitzero"`
	Open   bool          `json:"still_refused,omitempty"`
	Length time.Duration `json:"length_ns"`
	// Closer names what started the dispatcher again.
	Closer string `json:"closed_by,omitempty"`
}

// epoch returns the records that the report describes: those since the last
// completed backout, or, when the journal ends with one, that backed-out
// epoch itself (so the report shows what ran and what was undone).
func epoch(recs []journal.Record) (out []journal.Record, backedOut bool) {
	var marks []int
	last := -1
	for i, r := range recs {
		if r.Kind == journal.KindBackoutDone {
			marks = append(marks, i)
		}
		if r.Step != "" {
			last = i
		}
	}
	if len(marks) == 0 {
		return recs, false
	}
	m := marks[len(marks)-1]
	if last > m {
		return recs[m+1:], false
	}
	from := 0
	if len(marks) > 1 {
		from = marks[len(marks)-2] + 1
	}
	return recs[from : m+1], true
}

func buildReport(in reportInput) *runReport {
	recs, backedOut := epoch(in.Records)
	st := wizard.Fold(in.Records)
	rep := &runReport{Generated: in.Generated, StateDir: in.StateDir, Journal: in.Journal, BackedOut: backedOut, Findings: in.Findings, Backout: in.Backout, Host: hostCounts(in.Host), hostRaw: in.Host}
	if backedOut {
		// Fold forgets a backed-out epoch; fold it alone to show what ran.
		st = wizard.Fold(recs[:len(recs)-1])
	}
	slices.SortStableFunc(rep.Findings, func(a, b wizard.Finding) int { return sevRank(a.Severity) - sevRank(b.Severity) })
	for _, r := range in.Records {
		if r.Kind == journal.KindRunStart && r.Note == "backout" && r.Decision != nil {
			rep.BackoutDecision = "the backout was " + decisionText(*r.Decision, r.Time)
		}
	}
	byID := map[string]*stepView{}
	for _, si := range in.Steps {
		sr := st.Step(si.ID)
		v := &stepView{ID: si.ID, Title: si.Title, Node: si.Node, State: sr.State, receipts: sr.Receipts, why: sr.Why, err: sr.LastError}
		if in.Estimate != nil {
			v.Estimated = in.Estimate.Steps[si.ID]
		}
		if backedOut && sr.Ran() {
			v.State = wizard.StateUndone
		}
		rep.Steps = append(rep.Steps, v)
		byID[si.ID] = v
	}
	// Times: first and last record of each step; active time is the sum of
	// its actions' begin-to-outcome spans.
	begun := map[string]time.Time{}
	for _, r := range recs {
		v := byID[r.Step]
		if v == nil || r.Time.IsZero() {
			continue
		}
		if rep.Start.IsZero() || r.Time.Before(rep.Start) {
			rep.Start = r.Time
		}
		if r.Time.After(rep.End) {
			rep.End = r.Time
		}
		if v.Start.IsZero() {
			v.Start = r.Time
		}
		v.End = r.Time
		key := fmt.Sprintf("%s/%d/%t", r.Step, r.Action, isUndo(r.Kind))
		switch r.Kind {
		case journal.KindBegin, journal.KindUndoBegin:
			if len(r.Intent) == 0 { // not the begin restated with the action's intent
				begun[key] = r.Time
			}
		case journal.KindDone, journal.KindFailed, journal.KindUndoDone, journal.KindUndoFailed:
			if t, ok := begun[key]; ok {
				v.Active += r.Time.Sub(t)
				delete(begun, key)
			}
		case journal.KindConfirmed, journal.KindResolved, journal.KindWaived:
			if r.Decision != nil {
				v.Decisions = append(v.Decisions, decisionText(*r.Decision, r.Time))
				continue
			}
			// A journal from before decisions were typed.
			switch r.Kind {
			case journal.KindConfirmed:
				what := "point of no return"
				if isOperatorAction(r.Step) {
					what = "operator action"
				}
				v.Decisions = append(v.Decisions, "the operator confirmed this "+what+" ("+r.Time.Format("15:04:05")+")")
			case journal.KindResolved:
				v.Decisions = append(v.Decisions, fmt.Sprintf("the operator resolved action %d (%s) as %s", r.Action+1, r.Summary, r.Note))
			case journal.KindWaived:
				v.Decisions = append(v.Decisions, fmt.Sprintf("inhibitor %s waived: %s", r.Summary, r.Note))
			}
		}
	}
	span := rep.End.Sub(rep.Start)
	for _, v := range rep.Steps {
		v.Failed = v.State == wizard.StateFailed || v.State == wizard.StateInDoubt
		switch {
		case v.Failed && v.err != "":
			v.Note = v.err
		case v.State == wizard.StateInDoubt:
			v.Note = "an action began and has no outcome: `mswizard resolve " + v.ID + "`"
		default:
			v.Note = v.why
		}
		typed := false
		for _, rc := range v.receipts {
			for _, d := range rc.Decisions {
				v.Decisions = append(v.Decisions, decisionText(d, time.Time{}))
				typed = true
			}
		}
		if !typed && !v.Failed && v.err != "" && strings.Contains(v.err, "needs a decision") {
			// A journal from before the merge's decisions were typed: the
			// answers' ConfigDecision lines the merge applied.
			v.Decisions = append(v.Decisions, decidedByAnswers(v.receipts, in.ConfigDecisions)...)
		}
		for _, rc := range v.receipts {
			v.Evidence = append(v.Evidence, evidenceOf(rc, in.Hash))
		}
		if span > 0 && !v.Start.IsZero() {
			v.BarLeft = pct(v.Start.Sub(rep.Start), span)
			v.BarWidth = max(pct(v.End.Sub(v.Start), span), 0.4)
		}
	}
	rep.Window = refusedWindow(recs, in.Generated)
	if in.Estimate != nil {
		rep.Estimated = in.Estimate.Downtime
	}
	if w := rep.Window; w != nil {
		for _, v := range rep.Steps {
			v.InWindow = !v.Start.IsZero() && !v.Start.Before(w.From) && (w.Open || !v.Start.After(w.To))
		}
	}
	return rep
}

func isUndo(k journal.Kind) bool {
	return k == journal.KindUndoBegin || k == journal.KindUndoDone || k == journal.KindUndoFailed
}

func pct(d, of time.Duration) float64 {
	return float64(int(1000*float64(d)/float64(of))) / 10
}

func sevRank(s wizard.Severity) int {
	switch s {
	case wizard.Inhibitor:
		return 0
	case wizard.Warning:
		return 1
	}
	return 2
}

// decisionText is a journaled decision as the report says it: what was
// decided, and who decided it.
func decisionText(d journal.Decision, at time.Time) string {
	when := ""
	if !at.IsZero() {
		when = " (" + at.Format("15:04:05") + ")"
	}
	by := map[journal.Source]string{
		journal.SourceAnswers:  "the answers file",
		journal.SourceFlag:     "the command line",
		journal.SourceTUI:      "the operator in the TUI",
		journal.SourceEvidence: "the wizard, from the step's check",
	}[d.Source]
	if by == "" {
		by = "the operator"
	}
	reason := ""
	if d.Reason != "" {
		reason = ": " + d.Reason
	}
	switch d.Kind {
	case journal.DecideConfirm:
		if d.Source == journal.SourceFlag {
			by = "--yes"
		} else if d.Source == journal.SourceAnswers {
			by = "Confirm = yes in the answers"
		}
		return "confirmed by " + by + when + reason
	case journal.DecideWaive:
		return fmt.Sprintf("inhibitor %s waived by %s%s", d.Subject, by, reason)
	case journal.DecideResolve:
		what := "done"
		if d.Choice == journal.ChoiceRetry {
			what = "not done, to run again"
		}
		if d.Source == journal.SourceFlag {
			by = "`mswizard resolve --" + map[string]string{journal.ChoiceDone: "mark-done", journal.ChoiceRetry: "retry"}[d.Choice] + "`"
		}
		undo := ""
		if d.Undo {
			undo = "undo "
		}
		return fmt.Sprintf("%sin doubt: %s resolved as %s by %s%s%s", undo, d.Subject, what, by, when, reason)
	case journal.DecideMerge:
		return "decided by the answers: ConfigDecision = " + d.Subject + " " + d.Choice
	case journal.DecideInstaller:
		return fmt.Sprintf("installer prompt %s answered %q from the answers%s", d.Subject, d.Choice, reason)
	}
	return d.String()
}

// decidedByAnswers names the ConfigDecision lines of the answers that the
// merge applied: the decision a step that stopped for one went on with.
func decidedByAnswers(rcs []wizard.Receipt, lines []string) []string {
	var out []string
	for _, rc := range rcs {
		var ds []mergeDecision
		if json.Unmarshal(rc.Data, &ds) != nil {
			continue
		}
		for _, d := range ds {
			line := d.File + " " + d.Key + " " + d.Choice
			if slices.Contains(lines, line) {
				out = append(out, "decided by the answers: ConfigDecision = "+line)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, "stopped for a decision, then went on once it was given")
	}
	return out
}

// refusedWindow finds when the dispatcher stopped and started again.
func refusedWindow(recs []journal.Record, now time.Time) *mailWindow {
	var w *mailWindow
	for _, r := range recs {
		switch {
		case r.Step == "stop/dispatcher" && r.Kind == journal.KindBegin && w == nil:
			w = &mailWindow{From: r.Time, Open: true}
		case w == nil || !w.Open:
		case r.Step == "stop/dispatcher" && (r.Kind == journal.KindUndoDone || r.Kind == journal.KindUndone):
			w.To, w.Open, w.Closer = r.Time, false, "backout: undo stop/dispatcher"
		case r.Step == "post/start" && r.Kind == journal.KindDone && startsDispatcher(r):
			w.To, w.Open, w.Closer = r.Time, false, "post/start: "+r.Summary
		case r.Step == "post/start" && r.Kind == journal.KindStepDone:
			w.To, w.Open, w.Closer = r.Time, false, "post/start"
		}
	}
	if w == nil {
		return nil
	}
	if w.Open {
		w.Length = now.Sub(w.From)
	} else {
		w.Length = w.To.Sub(w.From)
	}
	return w
}

// startsDispatcher says whether a post/start action's receipt names the
// dispatcher among the units it started.
func startsDispatcher(r journal.Record) bool {
	var rc wizard.Receipt
	if json.Unmarshal(r.Receipt, &rc) != nil {
		return false
	}
	var d struct {
		Units []string `json:"units"`
	}
	_ = json.Unmarshal(rc.Data, &d)
	return slices.Contains(d.Units, "dispatcher")
}

// evidenceOf turns a receipt into what a reader needs: the command, its exit
// code and output, the files with their real size and hash, and the facts of
// the step-specific data that are known to the report (archives, LDIF counts,
// merge decisions, check results). Other step data stays in report.json.
func evidenceOf(rc wizard.Receipt, h *hashCache) evidence {
	e := evidence{Summary: rc.Summary, Command: rc.Command, Duration: rc.Duration, Note: rc.Note}
	for _, f := range rc.Files {
		fv := fileView{Path: f.Path, Size: f.Size, SHA256: f.SHA256}
		if size, sum, err := h.file(f.Path); err == nil {
			fv.Size = size
			if fv.SHA256 == "" || f.Size != size {
				fv.SHA256 = sum
			}
		} else {
			fv.Missing = true
		}
		e.Files = append(e.Files, fv)
		if strings.HasSuffix(f.Path, ".txt") && !fv.Missing {
			if b, err := os.ReadFile(f.Path); err == nil && len(b) < 64<<10 {
				e.Checks = append(e.Checks, checkText{Name: filepath.Base(f.Path), Text: strings.TrimRight(string(b), "\n")})
			}
		}
	}
	if len(rc.Data) == 0 {
		return e
	}
	var ds []mergeDecision
	if json.Unmarshal(rc.Data, &ds) == nil && len(ds) > 0 && ds[0].Key != "" {
		e.Decisions = ds
		return e
	}
	var m map[string]any
	if json.Unmarshal(rc.Data, &m) != nil {
		return e
	}
	num := func(k string) (int64, bool) {
		v, ok := m[k].(float64)
		return int64(v), ok
	}
	// An archive (backup): files, bytes, archive size, manifest hash.
	if files, ok := num("files"); ok {
		if bytes, ok := num("bytes"); ok {
			e.Facts = append(e.Facts, fact{"archived", fmt.Sprintf("%d files, %s", files, humanBytes(bytes))})
		}
	}
	if n, ok := num("archive_size"); ok {
		e.Facts = append(e.Facts, fact{"archive size", humanBytes(n)})
	}
	if s, ok := m["manifest_sha256"].(string); ok {
		e.Facts = append(e.Facts, fact{"manifest sha256", s})
	}
	// An LDIF export.
	if n, ok := num("Entries"); ok && !strings.Contains(rc.Note, "entries") {
		e.Facts = append(e.Facts, fact{"LDIF entries", fmt.Sprint(n)})
	}
	// A check's verdict.
	if p, ok := m["pass"].(bool); ok {
		v := "passed"
		if !p {
			v = "FAILED"
		}
		e.Facts = append(e.Facts, fact{"check", v})
	}
	if before, ok := m["version_before"].(string); ok && !strings.Contains(rc.Note, before) {
		e.Facts = append(e.Facts, fact{"version", before + " → " + fmt.Sprint(m["version_after"])})
	}
	if units, ok := m["units"].([]any); ok && len(units) > 0 {
		var us []string
		for _, u := range units {
			us = append(us, fmt.Sprint(u))
		}
		e.Facts = append(e.Facts, fact{"units", strings.Join(us, ", ")})
	}
	return e
}

// humanBytes is wizard.HumanBytes for the sizes the report and the estimate
// hold as int64.
func humanBytes(n int64) string { return wizard.HumanBytes(uint64(max(n, 0))) }

// hashCache hashes the files a report lists, once per size and mtime: an
// archive's receipt carries its manifest's hash, not its own, and a report is
// rewritten after every run.
type hashCache struct {
	path    string
	entries map[string]hashEntry
	dirty   bool
}

type hashEntry struct {
	Size   int64     `json:"size"`
	MTime  time.Time `json:"mtime"`
	SHA256 string    `json:"sha256"`
}

func newHashCache(path string) *hashCache {
	h := &hashCache{path: path, entries: map[string]hashEntry{}}
	if path != "" {
		if b, err := os.ReadFile(path); err == nil {
			_ = json.Unmarshal(b, &h.entries)
		}
	}
	return h
}

func (h *hashCache) file(p string) (int64, string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return 0, "", err
	}
	if !fi.Mode().IsRegular() {
		return 0, "", fmt.Errorf("%s: not a regular file", p)
	}
	if h != nil {
		if e, ok := h.entries[p]; ok && e.Size == fi.Size() && e.MTime.Equal(fi.ModTime()) {
			return e.Size, e.SHA256, nil
		}
	}
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	sum := sha256.New()
	n, err := io.Copy(sum, f)
	if err != nil {
		return 0, "", fmt.Errorf("hash %s: %w", p, err)
	}
	s := hex.EncodeToString(sum.Sum(nil))
	if h != nil {
		h.entries[p] = hashEntry{Size: n, MTime: fi.ModTime(), SHA256: s}
		h.dirty = true
	}
	return n, s, nil
}

func (h *hashCache) save() {
	if h == nil || !h.dirty || h.path == "" {
		return
	}
	b, _ := json.Marshal(h.entries)
	_ = atomicfile.WriteFile(h.path, b, 0o600)
}

// JSON is the report's versioned JSON form.
func (rep *runReport) JSON() Report {
	out := Report{Version: wizard.PlanVersion, Generated: rep.Generated, StateDir: rep.StateDir, Journal: rep.Journal, Backout: rep.Backout, MailRefused: rep.Window, MailRefusedEstimate: rep.Estimated, Findings: rep.Findings, Host: rep.hostRaw}
	for _, v := range rep.Steps {
		out.Steps = append(out.Steps, reportStep{ID: v.ID, Node: v.Node, State: v.State, Why: v.why, Error: v.err, Receipts: v.receipts, Start: v.Start, End: v.End, Active: v.Active, Estimated: v.Estimated, Decisions: v.Decisions})
	}
	return out
}
