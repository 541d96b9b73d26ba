package runbook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"mswizard/internal/atomicfile"
	"mswizard/steps/node"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// Options say where a runbook's steps keep what their undo needs, and which
// nodes they act on.
type Options struct {
	StateDir string
	// Nodes by name; "local" is the control host.
	Nodes map[string]node.Node
	// Order is the order of the answers' [Nodes]: the order "each" walks.
	Order []string
}

// NodeNames lists the nodes a runbook's steps name (not local, not each),
// sorted.
func NodeNames(rb *Runbook) []string {
	var out []string
	for _, s := range rb.Steps {
		if s.Node != "local" && s.Node != "each" && !contains(out, s.Node) {
			out = append(out, s.Node)
		}
	}
	sort.Strings(out)
	return out
}

// PlanNodes stands the control host in for every node a runbook names, for
// building its steps without reaching them (validate, help): nothing runs.
func PlanNodes(rb *Runbook) Options {
	o := Options{Nodes: map[string]node.Node{"local": node.Local{}}}
	for _, n := range NodeNames(rb) {
		o.Nodes[n], o.Order = node.Local{}, append(o.Order, n)
	}
	return o
}

// PreflightID is the step that runs the runbook's preflight checks.
const PreflightID = "preflight"

// Build turns a runbook and its answers into the engine's steps, in order.
func Build(rb *Runbook, v *Values, o Options) ([]wizard.Step, error) {
	var out []wizard.Step
	if len(rb.Preflight) > 0 {
		p := &preflightStep{stateDir: o.StateDir, n: o.Nodes["local"]}
		for _, c := range rb.Preflight {
			cc := *c
			cc.Message, cc.Fix, cc.Cond = v.renderPublic(c.Message), v.renderPublic(c.Fix), v.renderCond(c.Cond)
			p.checks = append(p.checks, &cc)
		}
		out = append(out, wizard.Phase{
			ID: PreflightID, Title: "Preflight checks of the starting host",
			Check: func(context.Context, *wizard.Env) (bool, string, error) {
				return true, "read-only checks; their findings ran first", nil
			},
			Preflight: p.findings, UndoText: "nothing: read-only",
		}.Step())
	}
	for _, s0 := range rb.Steps {
		if !v.Holds(s0.When) {
			continue
		}
		targets := []string{s0.Node}
		if s0.Node == "each" {
			targets = o.Order
			if len(targets) == 0 {
				return nil, fmt.Errorf("step %s acts on each node, but the answers name no [Nodes]", s0.ID)
			}
		}
		for _, name := range targets {
			s := s0
			if s0.Node == "each" {
				c := *s0
				c.ID, c.Node = s0.ID+"/"+name, name
				s = &c
			}
			k, err := buildKind(s, v, o)
			if err != nil {
				return nil, err
			}
			out = append(out, k.phase().Step())
		}
	}
	return out, nil
}

// kind is one runbook step kind's check, plan, undo and hooks, declared as
// the engine reads them by its phase (each kind's file says how).
type kind interface{ phase() wizard.Phase }

// buildKind turns one step, on one node, into its kind.
func buildKind(s *StepSpec, v *Values, o Options) (kind, error) {
	n, ok := o.Nodes[s.Node]
	if !ok {
		return nil, fmt.Errorf("step %s: node %q is not available: name it in the answers' [Nodes] (%s = address=HOST:PORT user=root key=FILE known_hosts=FILE)", s.ID, s.Node, s.Node)
	}
	b := base{id: s.ID, title: v.renderPublic(s.Title), optional: s.Optional, n: n,
		saveDir: filepath.Join(o.StateDir, "saved", strings.ReplaceAll(s.ID, "/", "%"))}
	switch s.Kind {
	case KindRun:
		r := s.Run
		st := &runStep{base: b, argv: v.renderAll(r.Argv), check: v.renderCond(r.Check), exit: r.Exit,
			timeout: r.Timeout, stdin: v.render(r.Stdin), hasStdin: r.Stdin != "", dir: v.render(r.Dir), idem: r.Idempotent}
		if r.Undo != nil {
			st.undo = v.renderAll(r.Undo)
		}
		for _, k := range r.EnvOrder {
			st.env = append(st.env, k+"="+v.render(r.Env[k]))
			st.envNames = append(st.envNames, k)
		}
		return st, nil
	case KindEdit:
		e := *s.Edit
		e.Path, e.Line, e.Replaces, e.Key, e.Value = v.render(e.Path), v.render(e.Line), v.render(e.Replaces), v.render(e.Key), v.render(e.Value)
		return &editStep{base: b, e: e}, nil
	case KindFile:
		f := *s.File
		f.Path, f.Copy, f.Target, f.Owner, f.Group = v.render(f.Path), v.render(f.Copy), v.render(f.Target), v.render(f.Owner), v.render(f.Group)
		secret := v.render(f.Content) != v.renderPublic(f.Content)
		f.Content = v.render(f.Content)
		return &fileStep{base: b, f: f, secret: secret}, nil
	case KindService:
		sv := *s.Service
		sv.Script, sv.Dir, sv.Source = v.render(sv.Script), v.render(sv.Dir), v.render(sv.Source)
		return &serviceStep{base: b, s: sv}, nil
	case KindWait:
		w := *s.Wait
		w.Until = v.renderCond(w.Until)
		return &waitStep{base: b, w: w}, nil
	case KindBackup:
		if s.Node != "local" {
			return nil, fmt.Errorf("step %s: a backup runs on the control host only", s.ID)
		}
		bk := *s.Backup
		bk.Path, bk.Dest = v.render(bk.Path), v.render(bk.Dest)
		bk.Exclude = v.renderAll(bk.Exclude)
		if bk.Name == "" {
			bk.Name = filepath.Base(bk.Path)
		}
		return &backupStep{base: b, b: bk}, nil
	case KindConfirm:
		pre := false
		for _, c := range v.Confirmed {
			pre = pre || c == s.ID
		}
		return &confirmStep{base: b, text: v.renderPublic(s.Confirm.Text), preconfirmed: pre}, nil
	default:
		return nil, fmt.Errorf("step %s: unknown kind %q", s.ID, s.Kind)
	}
}

// base is what every runbook step has.
type base struct {
	id, title string
	optional  bool
	n         node.Node
	// saveDir keeps, in the state directory, what the step's undo needs; it is
	// written before the step's effect, since a killed action leaves no receipt.
	saveDir string
}

// declare is a runbook step as the engine reads it: its kind's check, plan,
// undo and hooks in p, with what every runbook step has — its ID and title,
// whether it may be left out, and the node it acts on (the runner journals it
// with every action).
func (b *base) declare(p wizard.Phase) wizard.Phase {
	p.ID, p.Title, p.Optional, p.Node = b.id, b.title, b.optional, b.n.Name()
	return p
}

// output feeds a command's output to the faces line by line.
func output(env *wizard.Env, step string, out []byte) {
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if l != "" {
			env.Output(step, l)
		}
	}
}

func tail(b []byte) string {
	if len(b) > wizard.OutputTailBytes {
		b = b[len(b)-wizard.OutputTailBytes:]
	}
	return string(b)
}

// runCmd runs argv on n, records it in rc, and fails on an unexpected exit.
func runCmd(ctx context.Context, env *wizard.Env, step string, n node.Node, c node.Command, exits []int, rc *wizard.Receipt) (node.Result, error) {
	if c.Timeout <= 0 {
		c.Timeout = wizard.DefaultTimeout
	}
	res, err := n.Run(ctx, c)
	if rc != nil {
		rc.Command = &wizard.Result{Node: res.Node, Argv: res.Argv, ExitCode: res.ExitCode, Tail: tail(res.Output), Duration: res.Duration}
	}
	output(env, step, res.Output)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return res, fmt.Errorf("%s: killed at its timeout of %s (the step's timeout: raise it if the command needs longer): %w", wizard.ShellQuote(c.Argv...), c.Timeout, err)
		}
		return res, err
	}
	if len(exits) == 0 {
		exits = []int{0}
	}
	for _, e := range exits {
		if res.ExitCode == e {
			return res, nil
		}
	}
	msg := fmt.Sprintf("%s: exit status %d (expected %s)", wizard.ShellQuote(c.Argv...), res.ExitCode, joinInts(exits))
	if l := lastLine(string(res.Output)); l != "" {
		msg += ": " + l
	}
	return res, errors.New(msg)
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hash12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// ---- preflight ----

// preflightStep runs the runbook's preflight checks before anything changes.
// The checks describe the host the runbook starts from; once the journal
// records a change (a rerun after a stop, a kill), they no longer apply and
// are not run again: the steps' own checks take over.
type preflightStep struct {
	stateDir string
	n        node.Node
	checks   []*CheckSpec
}

func (p *preflightStep) findings(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
	if recs, err := journal.Read(p.stateDir); err == nil && wizard.Fold(recs).Changed() {
		return []wizard.Finding{{ID: "PRE-RUNBOOK-000", Severity: wizard.Warning,
			Message:     "the journal records changes to this host: the preflight checks describe the starting host and were not run again",
			Remediation: "none needed; each step checks its own goal"}}, nil
	}
	var out []wizard.Finding
	for _, c := range p.checks {
		r, err := eval(ctx, p.n, c.Cond)
		if err != nil {
			out = append(out, wizard.Finding{ID: c.ID, Severity: wizard.Inhibitor, Message: c.Message + " (cannot tell: " + err.Error() + ")", Remediation: c.Fix})
			continue
		}
		if !r.ok {
			sev := wizard.Inhibitor
			if c.Severity == "warning" {
				sev = wizard.Warning
			}
			out = append(out, wizard.Finding{ID: c.ID, Severity: sev, Message: c.Message + " (" + r.why + ")", Remediation: c.Fix})
		}
	}
	return out, nil
}

// ---- run ----

type runStep struct {
	base
	argv, undo []string
	check      *Cond
	exit       []int
	timeout    time.Duration
	stdin      string
	hasStdin   bool
	env        []string
	envNames   []string
	dir        string
	idem       bool
}

func (s *runStep) phase() wizard.Phase {
	return s.declare(wizard.Phase{Check: s.Check, Plan: s.Plan, Undo: s.Undo, UndoText: s.undoText(), InDoubt: s.resolveInDoubt})
}

func (s *runStep) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	if s.check == nil {
		return false, "no check declared: the command runs unless the journal says it ran", nil
	}
	r, err := eval(ctx, s.n, s.check)
	return r.ok, r.why, err
}

func (s *runStep) summary(argv []string) string {
	sum := wizard.ShellQuote(argv...)
	if s.dir != "" {
		sum = "(cd " + wizard.ShellQuote(s.dir) + ") " + sum
	}
	if len(s.envNames) > 0 {
		sum += " (env " + strings.Join(s.envNames, ", ") + " from the runbook)"
	}
	if s.hasStdin {
		sum += " (stdin from the runbook)"
	}
	return sum
}

func (s *runStep) command(argv []string, stdin bool) node.Command {
	c := node.Command{Argv: argv, Env: s.env, Dir: s.dir, Timeout: s.timeout}
	if stdin && s.hasStdin {
		c.Stdin = strings.NewReader(s.stdin)
	}
	return c
}

func (s *runStep) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	a := wizard.Action{Summary: s.summary(s.argv), Idempotent: s.idem, Do: func(ctx context.Context, rc *wizard.Receipt) error {
		_, err := runCmd(ctx, env, s.id, s.n, s.command(s.argv, true), s.exit, rc)
		return err
	}}
	if s.undo == nil {
		a.Irreversible = "the runbook declares no undo command for it"
	}
	return []wizard.Action{a}, nil
}

func (s *runStep) Undo(ctx context.Context, env *wizard.Env, _ []wizard.Receipt) ([]wizard.Action, error) {
	if s.undo == nil {
		return nil, nil
	}
	return []wizard.Action{{Summary: s.summary(s.undo), Idempotent: s.idem, Do: func(ctx context.Context, rc *wizard.Receipt) error {
		_, err := runCmd(ctx, env, s.id, s.n, s.command(s.undo, false), nil, rc)
		return err
	}}}, nil
}

func (s *runStep) undoText() string {
	if s.undo == nil {
		return "nothing: no undo declared"
	}
	return "runs " + wizard.ShellQuote(s.undo...)
}

// resolveInDoubt decides a command the wizard was killed in: its check says
// whether the goal holds; an idempotent command not proven done runs again;
// otherwise the operator decides.
func (s *runStep) resolveInDoubt(ctx context.Context, env *wizard.Env, _ int, _ string) (wizard.Resolution, error) {
	if s.check != nil {
		r, err := eval(ctx, s.n, s.check)
		if err != nil {
			return wizard.Undecided, err
		}
		if r.ok {
			return wizard.WasDone, nil
		}
	}
	if s.idem {
		return wizard.NotDone, nil
	}
	return wizard.Undecided, nil
}

// ---- wait ----

type waitStep struct {
	base
	w WaitSpec
}

func (s *waitStep) phase() wizard.Phase {
	return s.declare(wizard.Phase{Check: s.Check, Plan: s.Plan, UndoText: "nothing: a wait changes nothing"})
}

func (s *waitStep) Check(context.Context, *wizard.Env) (bool, string, error) {
	return false, "a wait proves its condition on every run", nil
}

func (s *waitStep) summary() string {
	sum := fmt.Sprintf("wait up to %s until %s", s.w.Timeout, describe(s.w.Until))
	if s.w.Stable > 0 {
		sum += fmt.Sprintf(", holding for %s without a change", s.w.Stable)
	}
	return sum
}

func (s *waitStep) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	return []wizard.Action{{Summary: s.summary(), Idempotent: true, Do: func(ctx context.Context, rc *wizard.Receipt) error {
		deadline := time.Now().Add(s.w.Timeout)
		var since time.Time
		// seen is the last key observed (the pids svstat reported), moved
		// says what last changed in it: a service restarting in a loop
		// never holds for the stable time, and the error names it.
		var key, last, seen, moved string
		for {
			r, err := eval(ctx, s.n, s.w.Until)
			switch {
			case err != nil:
				last, since = "cannot tell: "+err.Error(), time.Time{}
			case !r.ok:
				last, since = r.why, time.Time{}
			case since.IsZero() || r.key != key:
				since, key, last = time.Now(), r.key, r.why
			default:
				last = r.why
			}
			if err == nil && r.key != "" {
				if m := restarted(seen, r.key); m != "" {
					moved = m
				}
				seen = r.key
			}
			if !since.IsZero() && time.Since(since) >= s.w.Stable {
				rc.Note = fmt.Sprintf("held for %s: %s", time.Since(since).Round(time.Millisecond), last)
				env.Output(s.id, last)
				return nil
			}
			if time.Now().After(deadline) {
				if moved != "" {
					last += "; restarted meanwhile: " + moved
				}
				return fmt.Errorf("%s did not hold within %s; last: %s", describe(s.w.Until), s.w.Timeout, last)
			}
			if err := wizard.Sleep(ctx, s.w.Interval); err != nil {
				return err
			}
		}
	}}}, nil
}

// ---- confirm ----

type confirmStep struct {
	base
	text         string
	preconfirmed bool
}

func (s *confirmStep) phase() wizard.Phase {
	return s.declare(wizard.Phase{Check: s.Check, Plan: s.Plan, Confirm: s.confirmation(), UndoText: "nothing: a confirmation changes nothing"})
}

func (s *confirmStep) Check(context.Context, *wizard.Env) (bool, string, error) {
	return false, "an operator action is confirmed on every run that reaches it", nil
}

// confirmation is the question the engine asks before the step (the TUI asks
// it; batch needs --yes, Confirm = yes, or Confirmed = STEP in the answers).
func (s *confirmStep) confirmation() string {
	if s.preconfirmed {
		return ""
	}
	return fmt.Sprintf("%s\nConfirm once it is done (in batch: add `Confirmed = %s` to [%s], or rerun with --yes).", s.text, s.id, Section)
}

func (s *confirmStep) Plan(context.Context, *wizard.Env) ([]wizard.Action, error) {
	return []wizard.Action{{Summary: "operator confirms: " + s.text, Idempotent: true, Do: func(_ context.Context, rc *wizard.Receipt) error {
		rc.Note = "confirmed"
		if s.preconfirmed {
			rc.Note = "confirmed by Confirmed = " + s.id + " in the answers"
		}
		return nil
	}}}, nil
}

// ---- saved state, kept before an effect ----

func (b *base) saveJSON(name string, v any) error {
	if err := os.MkdirAll(b.saveDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(b.saveDir, name), data, 0o600)
}

func (b *base) loadJSON(name string, v any) (bool, error) {
	data, err := os.ReadFile(filepath.Join(b.saveDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(data, v)
}

// clearSaved forgets what the step kept, once its undo has used it: a later
// application saves afresh.
func (b *base) clearSaved() error { return os.RemoveAll(b.saveDir) }

// resolveID turns a user or group name into its number on the node
// (`id -u NAME`, `getent group NAME`: POSIX, so it works over SSH too).
func resolveID(ctx context.Context, n node.Node, name string, group bool) (int, error) {
	if name == "" {
		return -1, nil
	}
	if v, err := strconv.Atoi(name); err == nil {
		return v, nil
	}
	argv := []string{"id", "-u", name}
	if group {
		argv = []string{"getent", "group", name}
	}
	res, err := n.Run(ctx, node.Command{Argv: argv, Timeout: 10 * time.Second})
	if err != nil {
		return -1, err
	}
	out := strings.TrimSpace(string(res.Output))
	if res.ExitCode != 0 {
		what := "user"
		if group {
			what = "group"
		}
		return -1, fmt.Errorf("%s %q does not exist on node %s", what, name, n.Name())
	}
	if group {
		f := strings.Split(out, ":")
		if len(f) < 3 {
			return -1, fmt.Errorf("getent group %s: %q", name, out)
		}
		out = f[2]
	}
	return strconv.Atoi(out)
}
