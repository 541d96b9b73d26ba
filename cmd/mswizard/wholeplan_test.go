package main

import (
	"encoding/json"
	"fmt"
	"mswizard/fixtures/sim"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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
// shows the merge, the store's return, the documented start (start-msg on a
// plain host, svc -u and the down files removed under daemontools, `start-msg
// ha` on Sun Cluster 2.2, the resource online on Sun Cluster 3 and Veritas;
// the watcher started again only on the 6.x-like host that has one) and the
// checks (and no second schema preparation) — exactly the actions the run
// then journals, same summaries, same order, on every regime, on the world
// whose Directory Server lives in the server root and on the one with a Web
// Server in its own root and Delegated Administrator. A half-done run's plan
// is exactly its remaining actions; and the backout's plan then states the
// room its restore needs.
func TestThePlanOfAFreshWorldIsWhatTheRunJournals(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	for _, tc := range []struct {
		name string
		o    hostOptions
		// start is what the plan must show after the installer to start
		// the Messaging Server again (a prefix of "STEP: SUMMARY").
		start func(h *simHost) []string
	}{
		{"plain", hostOptions{}, func(h *simHost) []string {
			return []string{"post/start: " + h.World.MsgDir() + "/start-msg", "post/start: " + h.World.ServerRoot() + "/start-admin"}
		}},
		{"plain with a watcher", hostOptions{watcher: true}, func(h *simHost) []string {
			return []string{"post/start: " + h.World.MsgDir() + "/start-msg", "post/start: " + h.World.ServerRoot() + "/start-admin",
				"post/auto-restart: " + h.World.MsgDir() + "/start-msg watcher"}
		}},
		{"daemontools", hostOptions{regime: sim.RegimeDaemontools}, func(h *simHost) []string {
			return []string{"post/start: rm -f " + h.w.ServiceDir("dispatcher") + "/down", "post/start: svc -u " + h.w.ServiceDir("dispatcher")}
		}},
		{"sc2.2", hostOptions{regime: sim.RegimeSC22}, func(h *simHost) []string {
			return []string{"post/ha-restore: " + h.w.BinDir() + "/hareg -r", "post/start: " + h.World.MsgDir() + "/start-msg ha"}
		}},
		{"sc3", hostOptions{regime: sim.RegimeSC3, wizard: []string{"Confirmed = post/sc3-agent"}}, func(h *simHost) []string {
			return []string{"post/start: " + h.w.BinDir() + "/scswitch -e -j " + sim.SC3Resource}
		}},
		{"veritas", hostOptions{regime: sim.RegimeVeritas}, func(h *simHost) []string {
			return []string{"post/ha-restore: " + h.w.BinDir() + "/hares -link", "post/start: " + h.w.BinDir() + "/hares -online " + sim.VCSResource}
		}},
		{"web server root and Delegated Administrator", hostOptions{webServerRoot: true, delegatedAdmin: true}, func(h *simHost) []string {
			return []string{"post/start: " + h.World.MsgDir() + "/start-msg", "post/start-webserver-root: ", "post/start-delegated-admin: "}
		}},
		{"co-located Directory Server", hostOptions{colocatedDS: true}, func(h *simHost) []string {
			return []string{"post/start: " + h.World.MsgDir() + "/start-msg", "post/start: " + h.World.ServerRoot() + "/start-admin"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.o.seed = 7
			h := upHost(t, bin, tc.o)
			if tc.o.regime == sim.RegimeDaemontools {
				// supervise reports a service running before its port is
				// bound: plan against the host once every supervised
				// service answers (the watcher is not supervised).
				var now map[string]bool
				waitFor(t, func() bool {
					now = answering(t, h)
					for name, up := range now {
						if !up && name != "watcher" {
							return false
						}
					}
					return true
				}, 30*time.Second, func() string { return fmt.Sprintf("services not answering before the plan: %v", now) })
			}
			planMatchesRun(t, h, tc.o.watcher, tc.start(h))
		})
	}
}

// planMatchesRun plans a fresh world, checks that the plan holds the start
// after the installer, runs the upgrade to the installer, plans the rest, runs
// the rest, and compares both plans with what the journal says was done.
func planMatchesRun(t *testing.T, h *simHost, watcher bool, start []string) {
	t.Helper()
	bin, state := h.bin, h.World.StateDir()
	whole := plannedActions(t, bin, h.inf)
	inst := indexOf(whole, "upgrade/run-installer: ")
	if inst < 0 {
		t.Fatalf("the plan has no installer:\n%s", strings.Join(whole, "\n"))
	}
	rest := whole[inst+1:]
	for _, want := range append([]string{"upgrade/config-diff: merge", "post/store-return: ", "post/log-check: scan", "post/queue-check: sample"}, start...) {
		if indexOf(rest, want) < 0 {
			t.Errorf("after the installer the plan lacks %q:\n%s", want, strings.Join(rest, "\n"))
		}
	}
	if i := slices.IndexFunc(whole, func(l string) bool { return strings.Contains(l, "watcher") }); i >= 0 && !watcher {
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
	// The backout's plan states the room its restore of the server root
	// stages (issue 15 case 7), sized from the archive the run recorded.
	out, code = run(t, bin, "backout", "--answers", h.inf, "--dry-run")
	if code != 0 || !strings.Contains(out, "Room: the restore stages a copy of the server root from "+h.w.BackupDir()) || strings.Contains(out, "NOT ENOUGH") {
		t.Errorf("backout --dry-run does not state the room its restore needs: exit %d\n%s", code, out)
	}
}
