package service

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"mswizard/wizard"
)

// configutilScript is a configutil that edits local.conf: -o NAME -v VALUE sets,
// -o NAME -d deletes.
func (h *fakeHost) configutilScript() {
	f := h.w.LocalConf()
	h.script(h.w.Configutil(), `f='`+f+`'
grep -v "^$2 *=" "$f" > "$f.tmp"
if [ "$3" = "-v" ]; then echo "$2 = $4" >> "$f.tmp"; fi
mv "$f.tmp" "$f"`)
}

func TestAutoRestartOffThenUndoRestoresTheValuesExactly(t *testing.T) {
	for _, tc := range []struct {
		name      string
		local     []string
		wantPlan  []string // parameters switched off
		wantAfter map[string]*string
	}{
		{"set values come back as they were written", []string{"local.watcher.enable = 1", "local.autorestart = yes"},
			[]string{"local.watcher.enable", "local.autorestart"},
			map[string]*string{"local.watcher.enable": ptr("1"), "local.autorestart": ptr("yes")}},
		{"an unset watcher (on by default) is unset again", []string{"local.autorestart = on"},
			[]string{"local.watcher.enable", "local.autorestart"},
			map[string]*string{"local.watcher.enable": nil, "local.autorestart": ptr("on")}},
		{"an unset autorestart is off by default and left alone", []string{"local.watcher.enable = yes"},
			[]string{"local.watcher.enable"},
			map[string]*string{"local.watcher.enable": ptr("yes"), "local.autorestart": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newWatcherHost(t, tc.local...)
			h.configutilScript()
			ctx, env := t.Context(), h.env()
			s := AutoRestartOff(h.config())
			acts, err := s.Plan(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, p := range tc.wantPlan {
				want = append(want, h.w.Configutil()+" -o "+p+" -v no")
			}
			var got []string
			for _, a := range summaries(acts) {
				if a[0] == '/' {
					got = append(got, a)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("plan = %q, want %q", summaries(acts), want)
			}
			rs, err := runJournaled(t, ctx, env, s.ID(), acts)
			if err != nil {
				t.Fatal(err)
			}
			conf, _ := ReadConfig(h.w.Layout())
			if conf.Bool("local.watcher.enable", true) || conf.Bool("local.autorestart", false) {
				t.Fatalf("auto-restart still on: %v", conf)
			}
			if done, why, _ := s.Check(ctx, env); !done {
				t.Errorf("check after the step = not done (%s)", why)
			}
			undo, err := s.Undo(ctx, env, rs)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := runActions(ctx, s.ID(), undo); err != nil {
				t.Fatal(err)
			}
			conf, _ = ReadConfig(h.w.Layout())
			for name, want := range tc.wantAfter {
				if !sameValue(conf, name, want) {
					v, ok := conf.Value(name)
					t.Errorf("after undo %s = %q (set %v), want %v", name, v, ok, deref(want))
				}
			}
		})
	}
}

func TestPostAutoRestartRestoresWhatTheStopRecorded(t *testing.T) {
	h := newWatcherHost(t, "local.watcher.enable = no", "local.autorestart = yes",
		"local.ens.enable = no", "service.pop.enable = no", "service.http.enable = no",
		"local.sched.enable = no", "local.imta.enable = no")
	h.configutilScript()
	h.startMsgScript(nil, nil)
	ctx, env := t.Context(), h.env()
	if _, err := runPlan(t, ctx, env, AutoRestartOff(h.config())); err != nil {
		t.Fatal(err)
	}
	// The upgrade's installer moved local.conf aside and wrote a fresh one.
	writeFiles(t, map[string]string{h.w.LocalConf(): "local.autorestart = no\n"})
	s := AutoRestartOn(h.config())
	rs, err := runPlan(t, ctx, env, s)
	if err != nil {
		t.Fatal(err)
	}
	conf, _ := ReadConfig(h.w.Layout())
	if v, _ := conf.Value("local.watcher.enable"); v != "no" {
		t.Errorf("local.watcher.enable = %q, want the operator's no", v)
	}
	if v, _ := conf.Value("local.autorestart"); v != "yes" {
		t.Errorf("local.autorestart = %q, want the operator's yes", v)
	}
	want := []string{h.w.Configutil() + " -o local.autorestart -v yes", h.w.Configutil() + " -o local.watcher.enable -v no"}
	var got []string
	for _, r := range rs {
		got = append(got, r.Summary)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q and no watcher start (the operator had it disabled)", got, want)
	}
}

// TestAFiveXHostHasNoAutoRestartSwitches: a 5.x host names no watcher and no
// local.autorestart and runs no watcher (host-facts: F-SVC-004), so
// stop/auto-restart and post/auto-restart change nothing and start nothing:
// their checks hold as found, their plans are empty, local.conf is untouched.
func TestAFiveXHostHasNoAutoRestartSwitches(t *testing.T) {
	h := newHost(t)
	h.configutilScript()
	h.startMsgScript(nil, nil)
	ctx, env := t.Context(), h.env()
	before, err := os.ReadFile(h.w.LocalConf())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []wizard.Step{AutoRestartOff(h.config()), AutoRestartOn(h.config())} {
		if done, why, err := s.Check(ctx, env); err != nil || !done {
			t.Errorf("%s: check = %v (%s), %v; want done: nothing to switch", s.ID(), done, why, err)
		}
		acts, err := s.Plan(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		if len(acts) != 0 {
			t.Errorf("%s: plan = %q, want nothing on a host without a watcher", s.ID(), summaries(acts))
		}
	}
	after, _ := os.ReadFile(h.w.LocalConf())
	if !bytes.Equal(before, after) {
		t.Errorf("local.conf changed:\n%s\nwas\n%s", after, before)
	}
}

func deref(p *string) string {
	if p == nil {
		return "(unset)"
	}
	return *p
}
