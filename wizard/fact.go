package wizard

import "strings"

// Fact is something a step leaves true on the host once it is done: "the
// messaging services are stopped", "the store is set aside", "the schema holds
// the new definitions", "the new version is installed". The engine gives facts
// no meaning; the steps that establish one and the steps that consult it agree
// on its name.
//
// A whole-run plan describes each step against the host as the steps before it
// will have left it, not as it is at planning time: the planner accumulates the
// facts of the steps it has planned so far and hands the projection to the next
// step's Check and Plan (Env.Projected). A run never projects: when a step runs,
// the steps before it have run, and it reads the host itself.
type Fact string

// Not is the fact that f stops holding: a step that starts the services again
// establishes Not(stopped).
func Not(f Fact) Fact {
	if s, ok := strings.CutPrefix(string(f), "!"); ok {
		return Fact(s)
	}
	return "!" + f
}

// Projected says whether, in a whole-run plan, the steps planned before this
// one will have established f. It is always false inside a run and in a plan of
// a single step: a step then reads the host as it is.
func (e *Env) Projected(f Fact) bool { return e.projection[f] }

// Project returns a copy of e under which facts are projected, as a whole-run
// plan hands them to a later step (tests of a step's projected plan use it).
func (e *Env) Project(facts ...Fact) *Env {
	c := *e
	c.projection = map[Fact]bool{}
	for f, v := range e.projection {
		c.projection[f] = v
	}
	for _, f := range facts {
		c.project(f)
	}
	return &c
}

func (e *Env) project(f Fact) {
	if s, ok := strings.CutPrefix(string(f), "!"); ok {
		delete(e.projection, Fact(s))
		return
	}
	e.projection[f] = true
}
