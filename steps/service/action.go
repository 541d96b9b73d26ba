package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"mswizard/internal/atomicfile"
	"mswizard/wizard"
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
// were, and which daemontools down files existed. The first value recorded for a
// key wins, so a rerun never records the wizard's own change as the operator's.
type hostState struct {
	Config      map[string]*string `json:"config,omitempty"`       // nil: the parameter was not set
	DownExisted map[string]bool    `json:"down_existed,omitempty"` // service directory -> existed
	// WasRunning records, before a stop command runs, whether each unit was up.
	// A wizard killed during the stop leaves no receipt, and its rerun finds the
	// units already down; this record lets the undo start them again.
	WasRunning map[string]bool `json:"was_running,omitempty"`
	// Pending holds each action's receipt data, keyed STEP#INDEX, written before
	// the action's effect. A wizard killed mid-action leaves a journal record
	// that the runner may resolve as done, with no data of its own; the undo
	// then reads what the action was about to do from here.
	Pending map[string]opData `json:"pending,omitempty"`
}

func pendingKey(step string, action int) string { return fmt.Sprintf("%s#%d", step, action) }

// setData puts d in the receipt and, durably, in the host state before the
// action's effect happens (see hostState.Pending).
func setData(env *wizard.Env, r *wizard.Receipt, d opData) error {
	if err := r.SetData(d); err != nil {
		return err
	}
	return updateState(env, func(hs *hostState) {
		if hs.Pending == nil {
			hs.Pending = map[string]opData{}
		}
		hs.Pending[pendingKey(r.Step, r.Action)] = d
	})
}

const stateName = "service-state.json"

func loadState(env *wizard.Env) (hostState, error) {
	var st hostState
	if env.StateDir == "" {
		return st, nil
	}
	b, err := os.ReadFile(filepath.Join(env.StateDir, stateName))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("service state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("service state: %s: %w", stateName, err)
	}
	return st, nil
}

// updateState applies f to the recorded state and writes it atomically (temp
// file, fsync, rename, fsync the directory: house rule 4).
func updateState(env *wizard.Env, f func(*hostState)) error {
	if env.StateDir == "" {
		return nil
	}
	st, err := loadState(env)
	if err != nil {
		return err
	}
	f(&st)
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(env.StateDir, 0o700); err != nil {
		return fmt.Errorf("service state: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(env.StateDir, stateName), append(b, '\n'), 0o600)
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
