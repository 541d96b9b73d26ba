// Package wizard is the engine behind every face of mswizard: it runs an ordered
// runbook of resumable, idempotent steps, journals every action before and after it
// runs, plans without side effects, and backs out what the journal says was done.
//
// It knows nothing of Messaging Server; package steps builds the runbook.
package wizard

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"mswizard/wizard/journal"
)

// Step is one resumable, idempotent unit of a runbook.
//
// Check and Plan are read-only: a dry run calls them and nothing else. What a run
// executes is exactly the Actions Plan returned, so the plan and the run cannot drift.
type Step interface {
	// ID is stable and slash-separated ("stop/dispatcher", "backup/server-root");
	// journals, --until, --skip and --only name steps by it.
	ID() string
	Title() string
	// Check reports whether the step's goal already holds, and why. An error means
	// the step cannot tell, which stops a run that needs the answer.
	Check(ctx context.Context, env *Env) (done bool, why string, err error)
	// Plan returns the actions a run would execute now.
	Plan(ctx context.Context, env *Env) ([]Action, error)
	// Undo returns the actions that reverse what the step did, given the receipts
	// its actions left in the journal (oldest first).
	Undo(ctx context.Context, env *Env, receipts []Receipt) ([]Action, error)
}

// Action is one effect: a command, a move, a write. Summary is what the plan prints
// and the journal records; it never holds a secret.
type Action struct {
	Summary string
	// Do performs the action. It receives the receipt skeleton (step, index, summary
	// filled in) to complete with evidence.
	Do func(ctx context.Context, r *Receipt) error
	// Idempotent actions may be repeated after a crash left them in doubt; others
	// are resolved by the step's Check or by the operator.
	Idempotent bool
	// Irreversible marks an action that Undo cannot take back (shown in plans).
	Irreversible string
}

// Receipt is the evidence an action leaves in the journal: with it, the journal
// doubles as an exact record of what ran.
type Receipt struct {
	Step     string          `json:"step"`
	Action   int             `json:"action"`
	Summary  string          `json:"summary"`
	Command  *Result         `json:"command,omitempty"`
	Files    []FileHash      `json:"files,omitempty"`
	Duration time.Duration   `json:"duration_ns,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"` // step-specific, read back by Undo
	Note     string          `json:"note,omitempty"`
	// Decisions the action applied that someone made (a configuration
	// conflict decided in the answers, an installer prompt answered): the
	// journal keeps them typed, for status, the report and the TUI.
	Decisions []journal.Decision `json:"decisions,omitempty"`

	// intend journals the action's intent before its effect (see Intend);
	// the runner sets it, nil elsewhere (a plan, a test calling Do).
	intend func(json.RawMessage) error
}

// Intend stores v as the receipt's data and, inside a run, journals it
// durably as the action's intent before it returns: call it before the
// effect. An action killed mid-effect leaves no receipt; if its step's check
// or the operator resolves it as done, its undo reads the intent instead.
// Other steps may read it from the journal too (what a stop found running).
func (r *Receipt) Intend(v any) error {
	if err := r.SetData(v); err != nil {
		return err
	}
	if r.intend == nil {
		return nil
	}
	return r.intend(r.Data)
}

// WithIntent returns r journaling its intent through f: for callers that run
// actions outside a Runner with a journal of their own (tests, tools).
func (r Receipt) WithIntent(f func(json.RawMessage) error) Receipt {
	r.intend = f
	return r
}

// FileHash records a file an action wrote.
type FileHash struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// SetData stores v as the receipt's step-specific data.
func (r *Receipt) SetData(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	r.Data = b
	return nil
}

// DataInto decodes the receipt's step-specific data into v.
func (r Receipt) DataInto(v any) error { return json.Unmarshal(r.Data, v) }

// Optional is implemented by steps an operator may leave out with --skip/--only.
type Optional interface{ Optional() bool }

// NoReturn is implemented by steps that are a point of no return short of a
// restore: crossing one needs a confirmation and plans mark it.
type NoReturn interface{ PointOfNoReturn() string }

// Confirmer is implemented by steps that stand for an operator action the wizard
// cannot do itself: before the step runs, the engine asks Confirmation() as a
// question (the TUI asks it; batch needs --yes). An empty confirmation was
// already given (in the answers) and is not asked.
type Confirmer interface{ Confirmation() string }

// Preflight is implemented by read-only checks that run before anything changes.
// Any inhibitor among all preflights' findings stops the run there.
type Preflight interface {
	Findings(ctx context.Context, env *Env) ([]Finding, error)
}

// InDoubtResolver is implemented by steps that can decide, from evidence, what became
// of an action whose begin record has no done record (the wizard was killed while it
// ran). Steps without it are decided by Check alone.
type InDoubtResolver interface {
	ResolveInDoubt(ctx context.Context, env *Env, action int, summary string) (Resolution, error)
}

// Resolution is what a step concluded about an in-doubt action.
type Resolution int

const (
	Undecided Resolution = iota // ask the operator (exit 3 in batch)
	WasDone                     // the effect happened; record it as done
	NotDone                     // the effect did not happen; safe to run again
)

// Severity grades a preflight finding.
type Severity string

const (
	Inhibitor Severity = "inhibitor" // the run cannot go on
	Warning   Severity = "warning"   // the run goes on; the operator should look
	Info      Severity = "info"      // a fact the operator may want; nothing to fix
)

// Finding is one result of a preflight check, with a stable ID operators can waive
// in the answers file.
type Finding struct {
	ID          string   `json:"id"` // e.g. "PRE-DISK-001"
	Severity    Severity `json:"severity"`
	Message     string   `json:"message"`
	Remediation string   `json:"remediation"`
	Waived      bool     `json:"waived,omitempty"`
}

// Env is everything a step may touch, injected so tests and dry runs control it.
// It holds nothing of a product: a step that needs a directory, a cluster or a
// remote host gets it from its own configuration.
type Env struct {
	Root     string // filesystem root the host paths are under ("/" on a real host)
	StateDir string // journal, logs, reports and exports of this run
	Exec     Execer
	Now      func() time.Time
	Log      *slog.Logger
	// Progress reports byte and file counts of long actions; never nil inside a run.
	Progress func(Progress)
	// Output receives live command output for the faces; never nil inside a run.
	Output func(step string, line string)
	// projection holds the facts a whole-run plan projects for the step being
	// planned (see Fact); nil outside a plan.
	projection map[Fact]bool
}

// Progress reports how far a long action has come. A step fills What, Phase
// and the counts; the runner adds Elapsed, Rate and ETA (wizard.Meter).
type Progress struct {
	Step       string `json:"step"`
	Phase      string `json:"phase,omitempty"` // "archive", "verify", "restore", "export"
	What       string `json:"what"`            // "files", "bytes", "entries"
	Done       int64  `json:"done"`
	Total      int64  `json:"total"` // 0 when unknown
	DoneFiles  int64  `json:"done_files,omitempty"`
	TotalFiles int64  `json:"total_files,omitempty"`
	// DoneBytes is the bytes written so far when What counts something else
	// (an LDIF export's entries).
	DoneBytes int64 `json:"done_bytes,omitempty"`
	// Elapsed is the time since the phase began; Rate is What per second
	// over it; ETA is how long the rest should take at that rate, and
	// ETAKnown says there is one (a total and a rate to divide by).
	Elapsed  time.Duration `json:"elapsed_ns,omitempty"`
	Rate     float64       `json:"rate,omitempty"`
	ETA      time.Duration `json:"eta_ns,omitempty"`
	ETAKnown bool          `json:"eta_known,omitempty"`
}

// Nop fills the optional callbacks of an Env so steps can call them unconditionally.
func (e *Env) Nop() *Env {
	if e.Progress == nil {
		e.Progress = func(Progress) {}
	}
	if e.Output == nil {
		e.Output = func(string, string) {}
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Log == nil {
		e.Log = slog.New(slog.DiscardHandler)
	}
	if e.Exec == nil {
		e.Exec = OSExecer{}
	}
	return e
}
