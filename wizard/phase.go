package wizard

import "context"

// Phase is the one way to declare a step: its identity, its read-only check and
// plan, its undo, and the optional hooks, side by side in one literal — the way
// kubeadm declares a Phase. A runbook stays a literal list of
// `wizard.Phase{...}.Step()`.
//
//	func StopAdmin(c Config) wizard.Step {
//		return wizard.Phase{
//			ID: "stop/admin", Title: "Stop the Administration Server",
//			Check: c.adminDown, Plan: c.stopAdmin, Undo: c.startAdmin,
//			Establishes: []wizard.Fact{fact.AdminStopped},
//			Backout: wizard.BackoutKey{Stage: wizard.BackoutStart, Rank: 1},
//		}.Step()
//	}
//
// The engine reads every step through Describe: a Step that is not a Phase
// offers only its ID, title, check, plan and undo.
type Phase struct {
	// ID is stable and slash-separated ("stop/dispatcher"); journals, --until,
	// --skip and --only name steps by it.
	ID    string
	Title string
	// Check reports whether the step's goal already holds, and why. nil: the
	// step always runs its plan.
	Check func(ctx context.Context, env *Env) (done bool, why string, err error)
	// Plan returns the actions a run would execute now; read-only.
	Plan func(ctx context.Context, env *Env) ([]Action, error)
	// Undo returns the actions that take back what the step did, given its
	// receipts (oldest first). nil: nothing to undo.
	Undo func(ctx context.Context, env *Env, receipts []Receipt) ([]Action, error)
	// UndoText says in words what backout would do (plans show it).
	UndoText string
	// Optional steps may be left out with --skip/--only.
	Optional bool
	// NoReturn, when set, makes the step a point of no return short of a restore:
	// crossing one needs a confirmation and plans mark it.
	NoReturn string
	// Confirm, when set, is the question the engine asks before the step runs:
	// the step stands for an operator action the wizard cannot do itself (the
	// TUI asks it; batch needs --yes). Empty: nothing to ask, or the answers
	// already gave the confirmation.
	Confirm string
	// Node names the node the step acts on (a runbook step across nodes): the
	// journal records it with each of the step's records. Empty: the host the
	// wizard runs on.
	Node string
	// Preflight, when set, is a read-only check run before anything changes.
	Preflight func(ctx context.Context, env *Env) ([]Finding, error)
	// InDoubt, when set, decides from evidence what became of an action the
	// wizard was killed during.
	InDoubt func(ctx context.Context, env *Env, action int, summary string) (Resolution, error)
	// Establishes lists what holds on the host once the step is done (Not(f):
	// what stops holding). A whole-run plan hands later steps the projection.
	Establishes []Fact
	// Backout places the step's undo in the backout procedure.
	Backout BackoutKey
	// Review, when set, offers decisions an operator may review before the run
	// goes on (the configuration merge's conflicts); faces render them without
	// knowing the step.
	Review func(ctx context.Context, env *Env) (*Review, error)
	// Counts, when set, is a read-only query the faces ask instead of counting
	// by rules of their own (the queue's files, the free space).
	Counts func(ctx context.Context, env *Env) ([]Count, error)
}

// Step returns the phase as a runbook step.
func (p Phase) Step() Step { return &phaseStep{p: p} }

type phaseStep struct{ p Phase }

func (s *phaseStep) Phase() Phase  { return s.p }
func (s *phaseStep) ID() string    { return s.p.ID }
func (s *phaseStep) Title() string { return s.p.Title }
func (s *phaseStep) Check(ctx context.Context, env *Env) (bool, string, error) {
	if s.p.Check == nil {
		return false, "always runs", nil
	}
	return s.p.Check(ctx, env)
}
func (s *phaseStep) Plan(ctx context.Context, env *Env) ([]Action, error) {
	if s.p.Plan == nil {
		return nil, nil
	}
	return s.p.Plan(ctx, env)
}
func (s *phaseStep) Undo(ctx context.Context, env *Env, rs []Receipt) ([]Action, error) {
	if s.p.Undo == nil {
		return nil, nil
	}
	return s.p.Undo(ctx, env, rs)
}

// Describe reads any step as a Phase: a declared Phase's own fields, or a bare
// Step's ID, title, check, plan and undo (engine tests' fakes; nothing else).
// Check, Plan and Undo are always set in the result.
func Describe(s Step) Phase {
	if d, ok := s.(interface{ Phase() Phase }); ok {
		p := d.Phase()
		ps := &phaseStep{p: p}
		p.Check, p.Plan, p.Undo = ps.Check, ps.Plan, ps.Undo
		return p
	}
	return Phase{ID: s.ID(), Title: s.Title(), Check: s.Check, Plan: s.Plan, Undo: s.Undo}
}

// Count is one number a step computed, for the faces: "queue-files" = 90.
type Count struct {
	Name  string `json:"name"`  // stable key: "queue-files", "backup-free-bytes"
	Value int64  `json:"value"` // -1: could not be read
	Text  string `json:"text"`  // how the step says it ("the queue is empty: nothing to save")
}

// CountsOf asks every step of a runbook that offers a read-only query, in
// runbook order; a step whose query fails contributes a count named after the
// step with value -1 and the error as its text.
func CountsOf(ctx context.Context, env *Env, steps []Step) map[string]Count {
	env.Nop()
	out := map[string]Count{}
	for _, s := range steps {
		p := Describe(s)
		if p.Counts == nil {
			continue
		}
		cs, err := p.Counts(ctx, env)
		if err != nil {
			out[p.ID] = Count{Name: p.ID, Value: -1, Text: err.Error()}
			continue
		}
		for _, c := range cs {
			out[c.Name] = c
		}
	}
	return out
}
