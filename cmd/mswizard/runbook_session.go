package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mswizard/internal/atomicfile"
	"mswizard/steps/node"
	"mswizard/steps/runbook"
	"mswizard/wizard"
	"mswizard/wizard/journal"
	"mswizard/wizard/tui"
)

// runbookRun is a runbook file's run: the runbook, its answers, and the
// RUNBOOK argument that names it again.
type runbookRun struct {
	book   *runbook.Runbook
	values *runbook.Values
	ref    string // a shipped id, or the runbook file's absolute path
	// remote are the answers' [Nodes], reached over SSH.
	remote map[string]*node.SSH
}

func (b *runbookRun) what() string                   { return "runbook " + b.book.ID }
func (b *runbookRun) again() string                  { return "run " + b.ref }
func (b *runbookRun) answersFile() string            { return b.values.Path }
func (b *runbookRun) answersHash() string            { return b.values.Hash(b.book) }
func (b *runbookRun) confirms() bool                 { return b.values.Confirm }
func (b *runbookRun) waivers(bool) map[string]string { return b.values.Waivers }

// decisions: a runbook's answers decide nothing the report names.
func (b *runbookRun) decisions() []string { return nil }

func (b *runbookRun) upgrade() (*upgradeRun, error) { return nil, onlyUpgrade(b.what()) }

func (b *runbookRun) pin(p *wizard.Pin, state string) {
	p.Runbook = b.book.ID
	p.Paths = map[string]string{"state directory": state}
}

// reach connects to every node of [Nodes] a step of this run acts on, in the
// order the steps first act on them (handshake, host key, authentication;
// nothing runs), so that a node whose host key known_hosts refuses, or one
// that cannot be reached, stops a run or a backout before its first action
// on any node: without it, the nodes connected on first use and node1's
// services were stopped before the run found node2's key changed. Every
// node is tried; each refusal is named.
func (b *runbookRun) reach(ctx context.Context, s *session) error {
	var errs []error
	for _, name := range nodeOrder(s.steps) {
		n, ok := b.remote[name]
		if !ok {
			continue // the control host
		}
		err := n.Connect(ctx)
		if err == nil {
			continue
		}
		cfg := n.Config()
		var he *node.HostKeyError
		if errors.As(err, &he) {
			errs = append(errs, fmt.Errorf("%w; nothing was run on any node (every node's host key is checked before the first action)", err))
			continue
		}
		errs = append(errs, fmt.Errorf("node %s (%s, host key checked against %s) cannot be reached before the first action, so nothing was run on any node: %w", cfg.Name, cfg.Address, cfg.KnownHosts, err))
	}
	return errors.Join(errs...)
}

// beforeRetry: every runbook step's in-doubt action is its own step's
// business (its check, its idempotence).
func (b *runbookRun) beforeRetry(string) error { return nil }

// lock: a runbook file's run has no server root; the state directory's lock
// is its lock.
func (b *runbookRun) lock(*session, time.Time) error { return nil }

// remember writes the state directory's runbook.ref.
func (b *runbookRun) remember(state string) error {
	return atomicfile.WriteFile(filepath.Join(state, runbookRefFile), []byte(b.ref+"\n"), 0o600)
}

// keptSafe names the originals the runbook's steps saved before changing them.
func (b *runbookRun) keptSafe(w io.Writer, state string) {
	fmt.Fprintf(w, "  saved originals: %s\n", filepath.Join(state, "saved"))
}

// estimate: a runbook file's run has no server root, queue or store to measure.
func (b *runbookRun) estimate(context.Context, *session, *wizard.PlanReport) error { return nil }

// face: the resume view and the plan; the Messaging Server's preflight screen
// and config diff do not apply.
func (b *runbookRun) face(context.Context, *session, *common, *wizard.Runner, *tui.Options) {}

// backoutProcedure: a runbook file's backout is its journal's, newest first
// or as its steps' backout keys place them; it has no procedure to render.
func (b *runbookRun) backoutProcedure() string { return "" }

// runbookRefFile, in the state directory, names the runbook of the run there,
// so `status`, `resolve` and `backout --state-dir D` load the same one.
const runbookRefFile = "runbook.ref"

// runbookRef says which runbook a session runs, or "" for the Messaging
// Server upgrade: `run RUNBOOK`, else the state directory's runbook.ref, else
// the journal's pin, else the answers file's [Runbook] Runbook.
func (c *common) runbookRef(answersPath string) string {
	if c.runbook != "" {
		return c.runbook
	}
	if c.stateDir != "" {
		if b, err := os.ReadFile(filepath.Join(c.stateDir, runbookRefFile)); err == nil {
			return strings.TrimSpace(string(b))
		}
		if recs, err := journal.Read(c.stateDir); err == nil {
			if st := wizard.Fold(recs); st.Pin != nil && st.Pin.Runbook != "" {
				return st.Pin.Runbook
			}
		}
	}
	if name, err := runbook.ReadRunbookName(answersPath); err == nil && name != "" {
		return name
	}
	return ""
}

// loadRunbook builds a session for a runbook file's run: the same engine,
// journal and faces as the upgrade, with the runbook's steps.
func (c *common) loadRunbook(ref, answersPath string) (*session, error) {
	rb, err := runbook.Load(ref)
	if err != nil {
		return nil, err
	}
	v, err := runbook.LoadValues(rb, answersPath)
	if err != nil {
		return nil, err
	}
	if v.Runbook != "" && c.runbook != "" && v.Runbook != c.runbook && filepath.Base(strings.TrimSuffix(v.Runbook, filepath.Ext(v.Runbook))) != rb.ID {
		return nil, usagef("%s is the answers for runbook %s, not %s", answersPath, v.Runbook, c.runbook)
	}
	state := v.StateDir
	if c.stateDir != "" {
		state = c.stateDir
	}
	if state == "" {
		return nil, usagef("%s: [%s] has no StateDir, and no --state-dir was given", answersPath, runbook.Section)
	}
	// The answers' [Nodes] are reached over SSH. A plan or a status does not
	// need them up (a dry run contacts no node); a run and a backout connect
	// to every one of them before their first action (runbookRun.reach).
	nodes, order, remote := map[string]node.Node{"local": node.Local{}}, []string(nil), map[string]*node.SSH{}
	for _, c := range v.Nodes {
		n := node.NewSSH(c)
		nodes[c.Name], remote[c.Name] = n, n
		order = append(order, c.Name)
	}
	steps, err := runbook.Build(rb, v, runbook.Options{StateDir: state, Nodes: nodes, Order: order})
	if err != nil {
		return nil, err
	}
	if runbook.IsFile(ref) {
		if abs, err := filepath.Abs(ref); err == nil {
			ref = abs
		}
	}
	return &session{
		run:   &runbookRun{book: rb, values: v, ref: ref, remote: remote},
		state: state, steps: steps,
		env: &wizard.Env{Root: "/", StateDir: state, Exec: wizard.OSExecer{}, Now: time.Now, Log: slog.New(slog.DiscardHandler)},
	}, nil
}
