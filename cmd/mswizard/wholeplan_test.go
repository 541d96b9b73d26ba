package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"mswizard/wizard"
	"mswizard/wizard/journal"
)

func plannedActions(t *testing.T, bin, inf string) []string {
	t.Helper()
	out, code := run(t, bin, "plan", "--answers", inf, "--output", "json")
	if code != 0 {
		t.Fatalf("plan exit %d:\n%s", code, out)
	}
	var rep wizard.PlanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, out)
	}
	var got []string
	for _, s := range rep.Steps {
		if s.Error != "" {
			t.Errorf("plan cannot plan %s: %s", s.ID, s.Error)
		}
		for _, a := range s.Actions {
			got = append(got, s.ID+": "+a.Summary)
		}
	}
	return got
}

// journaledActions are the done actions after sequence number after. The
// archives are named for the run (NAME.TAG.tar.zst, the tag from the run's
// id), which a plan made before the run began shows as NAME.RUN: the tag is
// put back to RUN, and nothing else is touched.
func journaledActions(t *testing.T, state string, after int) []string {
	t.Helper()
	recs, err := journal.Read(state)
	if err != nil {
		t.Fatal(err)
	}
	tag := regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(recs[0].Run, "_")
	var got []string
	for _, r := range recs {
		if r.Kind == journal.KindDone && r.Seq > int64(after) {
			got = append(got, r.Step+": "+strings.ReplaceAll(r.Summary, "."+tag+".", ".RUN."))
		}
	}
	return got
}

func indexOf(lines []string, prefix string) int {
	return slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// The plan of a fresh world tells the whole run: each step is planned against
// the host as the steps before it will have left it, so after the installer it
// shows the merge, the store's return, the documented start-msg, start-admin
// (and, the world being a 5.1 host, no watcher to start again) and
// the checks (and no second schema preparation) — exactly the
// actions the run then journals, same summaries, same order. A half-done run's
// plan is exactly its remaining actions.
func TestThePlanOfAFreshWorldIsWhatTheRunJournals(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 7})
	state := h.World.StateDir()

	whole := plannedActions(t, bin, h.inf)
	inst := indexOf(whole, "upgrade/run-installer: ")
	if inst < 0 {
		t.Fatalf("the plan has no installer:\n%s", strings.Join(whole, "\n"))
	}
	rest := whole[inst+1:]
	for _, want := range []string{"upgrade/config-diff: merge", "post/store-return: move", "post/start: " + h.World.MsgDir() + "/start-msg", "post/start: " + h.World.ServerRoot() + "/start-admin", "post/log-check: scan", "post/queue-check: sample"} {
		if indexOf(rest, want) < 0 {
			t.Errorf("after the installer the plan lacks %q:\n%s", want, strings.Join(rest, "\n"))
		}
	}
	if i := slices.IndexFunc(whole, func(l string) bool { return strings.Contains(l, "watcher") }); i >= 0 {
		t.Errorf("the plan of a host without a watcher acts on one: %s", whole[i])
	}
	if i := indexOf(rest, "post/schema: "); i >= 0 {
		t.Errorf("post/schema plans again what directory/schema adds: %s", rest[i])
	}
	if _, err := os.Stat(filepath.Join(state, journal.FileName)); err == nil {
		t.Fatal("plan wrote a journal")
	}

	out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "upgrade/run-installer")
	if code != 0 {
		t.Fatalf("upgrade --until exit %d:\n%s", code, out)
	}
	recs, _ := journal.Read(state)
	mark := int(recs[len(recs)-1].Seq)
	remaining := plannedActions(t, bin, h.inf)
	// The one thing a plan cannot know: the live world's job controller may
	// deliver the last queued messages before the stops, and backup/queue
	// ("if it holds messages") then finds the queue empty and saves nothing.
	// The journal says so; only then is the planned queue archive dropped.
	for _, r := range recs {
		if r.Kind == journal.KindSkipped && r.Step == "backup/queue" && strings.Contains(r.Note, "the queue is empty") {
			whole = slices.DeleteFunc(whole, func(l string) bool { return strings.HasPrefix(l, "backup/queue: ") })
			t.Logf("the queue emptied between the plan and the stops: %s", r.Note)
		}
	}

	out, code = run(t, bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 0 {
		t.Fatalf("upgrade exit %d:\n%s", code, out)
	}
	if got := journaledActions(t, state, 0); !slices.Equal(got, whole) {
		t.Errorf("the run journaled\n  %s\nthe plan of the fresh world said\n  %s", strings.Join(got, "\n  "), strings.Join(whole, "\n  "))
	}
	if got := journaledActions(t, state, mark); !slices.Equal(got, remaining) {
		t.Errorf("the resumed run journaled\n  %s\nthe plan of the half-done run said\n  %s", strings.Join(got, "\n  "), strings.Join(remaining, "\n  "))
	}
}
