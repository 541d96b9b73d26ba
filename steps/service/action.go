package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"mswizard/wizard"
	"mswizard/wizard/journal"
	"mswizard/wizard/lines"
)

// opData is what an action leaves in its receipt for Undo and for the operator.
type opData struct {
	// Op names the operation: "dispatcher", "msg", "admin", "web", "svc" (a
	// supervised unit), "down" (its down file), "config", "monitor" (cluster fault
	// monitor), "vcs" (a Veritas configuration change), "manual".
	Op  string `json:"op"`
	Arg string `json:"arg,omitempty"` // web instance, service directory, parameter
	// Units are the units a stop found running (and so a start must bring back),
	// or the units a start brought up.
	Units  []string `json:"units,omitempty"`
	Before []status `json:"before,omitempty"`
	// After is the proof a stop left: each unit's evidence once it was down.
	After []status `json:"after,omitempty"`
	// Existed says whether the down file was there before this run created it.
	Existed *bool `json:"existed,omitempty"`
	// Prev is a parameter's value before the change; nil means it was not set.
	Prev *string `json:"prev,omitempty"`
	// Argv of a Veritas change, to build its reverse.
	Argv []string `json:"argv,omitempty"`
	// WasUp is, for a stop, whether each unit was up before this run first
	// stopped it (see hostState.WasRunning).
	WasUp map[string]bool `json:"was_up,omitempty"`
}

func output(env *wizard.Env, step string) func(string) {
	if env.Output == nil {
		return func(string) {}
	}
	return func(line string) { env.Output(step, line) }
}

// run executes cmd through env.Exec, streaming its output to the face and leaving
// the result in the receipt.
func run(ctx context.Context, env *wizard.Env, r *wizard.Receipt, cmd wizard.Command) error {
	cmd.Output = lines.New(output(env, r.Step)) // whole lines, the last flushed (wizard/lines)
	res, err := env.Exec.Run(ctx, cmd)
	r.Command = &res
	return err
}

// hostState is what the stop steps learned that the post-upgrade steps need
// (they cannot read another step's receipts): the auto-restart switches as they
// were, which daemontools down files existed, and which units ran before a
// stop. It is read from the journal: each action states its intent in its own
// begin record (wizard.Receipt.Intend) before its effect, so the record
// exists even when the wizard was killed before the action's receipt. The
// first value recorded for a key in the run wins, so a rerun never records
// the wizard's own change as the operator's.
type hostState struct {
	Config      map[string]*string // nil: the parameter was not set
	DownExisted map[string]bool    // service directory -> existed
	// WasRunning records, before a stop command ran, whether each unit was
	// up. A wizard killed during the stop leaves no receipt, and its rerun
	// finds the units already down; this record lets the undo start them
	// again.
	WasRunning map[string]bool
	// Pending is what an older wizard kept in its own file (legacyStateName)
	// of each action's data, keyed STEP#INDEX: a journal it began, resolved
	// as done, has no intent records to read instead.
	Pending map[string]opData
}

func pendingKey(step string, action int) string { return fmt.Sprintf("%s#%d", step, action) }

// setData puts d in the receipt and, durably, in the action's begin record
// before the action's effect happens (see hostState).
func setData(env *wizard.Env, r *wizard.Receipt, d opData) error { return r.Intend(d) }

// legacyStateName is the second write-ahead file older wizards kept beside
// the journal. It is only read (a run begun by one of them and resumed by
// this one), never written.
const legacyStateName = "service-state.json"

// loadState reads what this run's service actions recorded before their
// effects: the intents journaled since the last completed backout (an
// earlier run's values describe a host that backout put back).
func loadState(env *wizard.Env) (hostState, error) {
	st := hostState{Config: map[string]*string{}, DownExisted: map[string]bool{}, WasRunning: map[string]bool{}, Pending: map[string]opData{}}
	if env.StateDir == "" {
		return st, nil
	}
	if err := st.readLegacy(env.StateDir); err != nil {
		return st, err
	}
	recs, err := journal.Read(env.StateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("service state: %w", err)
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Kind == journal.KindBackoutDone {
			recs = recs[i+1:]
			break
		}
	}
	for _, r := range recs {
		if r.Kind != journal.KindBegin || len(r.Intent) == 0 {
			continue
		}
		var d opData
		if json.Unmarshal(r.Intent, &d) != nil {
			continue // another package's intent
		}
		switch {
		case r.Step == IDAutoRestartOff && (d.Op == "config" || d.Op == "record"):
			if _, ok := st.Config[d.Arg]; !ok {
				st.Config[d.Arg] = d.Prev
			}
		case d.Op == "down" && d.Existed != nil:
			if _, ok := st.DownExisted[d.Arg]; !ok {
				st.DownExisted[d.Arg] = *d.Existed
			}
		}
		for u, was := range d.WasUp {
			if _, ok := st.WasRunning[u]; !ok {
				st.WasRunning[u] = was
			}
		}
	}
	return st, nil
}

// readLegacy reads an older wizard's service-state.json, if there is one.
func (st *hostState) readLegacy(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, legacyStateName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("service state: %w", err)
	}
	var old struct {
		Config      map[string]*string `json:"config"`
		DownExisted map[string]bool    `json:"down_existed"`
		WasRunning  map[string]bool    `json:"was_running"`
		Pending     map[string]opData  `json:"pending"`
	}
	if err := json.Unmarshal(b, &old); err != nil {
		return fmt.Errorf("service state: %s: %w", legacyStateName, err)
	}
	maps.Copy(st.Config, old.Config)
	maps.Copy(st.DownExisted, old.DownExisted)
	maps.Copy(st.WasRunning, old.WasRunning)
	maps.Copy(st.Pending, old.Pending)
	return nil
}

func ptr[T any](v T) *T { return &v }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// RecordedSwitches returns the auto-restart switches stop/auto-restart changed
// and the values they had before (nil: not set), as recorded in stateDir. The
// config merge names them, so the wizard's own change is not taken for an
// operator's customization.
func RecordedSwitches(stateDir string) (map[string]*string, error) {
	st, err := loadState(&wizard.Env{StateDir: stateDir})
	if err != nil {
		return nil, err
	}
	return st.Config, nil
}
