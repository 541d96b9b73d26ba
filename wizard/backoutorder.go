package wizard

import (
	"fmt"
	"sort"
	"strings"
)

// BackoutStage is a stage of a backout procedure. The journal says what a run
// did and so what a backout must take back; the stages say in which order.
// iPlanet Messaging Server 5.2 Installation Guide, Appendix C ("To back out of
// the upgrade"): stop the services strictly in order, unmount or set aside the
// store, restore the server root from the backup, mount or return the store,
// start the services strictly in order.
type BackoutStage int

const (
	// BackoutAnywhere: the undo has no place in the procedure; it runs in
	// reverse order of application among the other such undos.
	BackoutAnywhere BackoutStage = iota
	BackoutStop                  // services stop (Rank orders them)
	BackoutSetAside              // data leaves the tree about to be restored
	BackoutRestore               // the tree is restored from its archive
	BackoutReturn                // the data set aside comes back
	BackoutStart                 // services start (Rank orders them)
)

func (s BackoutStage) String() string {
	switch s {
	case BackoutStop:
		return "stop"
	case BackoutSetAside:
		return "set aside"
	case BackoutRestore:
		return "restore"
	case BackoutReturn:
		return "return"
	case BackoutStart:
		return "start"
	}
	return ""
}

// BackoutKey places a step's undo in the backout procedure: its stage, and
// within the stage its rank (lower first: the appendix stops Delegated
// Administrator, the Web Server, the Messaging Server, the Directory Server,
// the Administration Server, and starts them in the opposite order).
type BackoutKey struct {
	Stage BackoutStage `json:"stage,omitempty"`
	Rank  int          `json:"rank,omitempty"`
}

func (k BackoutKey) String() string {
	if k.Stage == BackoutAnywhere {
		return ""
	}
	if k.Rank == 0 {
		return k.Stage.String()
	}
	return fmt.Sprintf("%s %d", k.Stage, k.Rank)
}

// backoutItem is one step to take back: its key and when it was applied.
type backoutItem struct {
	key     BackoutKey
	applied int64
}

// backoutOrder returns the order in which a backout takes items back: reverse
// order of application, except that the undos with a place in the procedure
// are sorted by it (stage, then rank, then newest first) into the positions
// such undos hold. An undo without a key keeps its place relative to the
// others, so a runbook that declares no keys backs out newest first, as before.
func backoutOrder(items []backoutItem) []int {
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return items[idx[a]].applied > items[idx[b]].applied })
	var slots, keyed []int
	for pos, i := range idx {
		if items[i].key.Stage != BackoutAnywhere {
			slots = append(slots, pos)
			keyed = append(keyed, i)
		}
	}
	sort.SliceStable(keyed, func(a, b int) bool {
		ka, kb := items[keyed[a]].key, items[keyed[b]].key
		if ka.Stage != kb.Stage {
			return ka.Stage < kb.Stage
		}
		return ka.Rank < kb.Rank
	})
	for n, pos := range slots {
		idx[pos] = keyed[n]
	}
	return idx
}

// RenderBackoutPlan writes a backout plan as `backout --dry-run` prints it and
// the TUI's backout screen shows it: the steps in the order the backout takes
// them back, each with its place in the procedure.
func RenderBackoutPlan(plan []BackoutStep) string {
	var b strings.Builder
	if len(plan) == 0 {
		return ErrNothingToUndo.Error() + "\n"
	}
	b.WriteString("Backout plan, in the backout procedure's order (nothing has been run):\n")
	for i, s := range plan {
		stage := ""
		if s.Stage != "" {
			stage = " [" + s.Stage + "]"
		}
		fmt.Fprintf(&b, "\n%2d. undo %s — %s%s\n", i+1, s.ID, s.Title, stage)
		if s.Error != "" {
			fmt.Fprintf(&b, "      cannot plan: %s\n", s.Error)
		}
		for _, a := range s.Actions {
			fmt.Fprintf(&b, "      $ %s\n", a.Summary)
			if a.Irreversible != "" {
				fmt.Fprintf(&b, "        (cannot be undone: %s)\n", a.Irreversible)
			}
		}
	}
	return b.String()
}
