package service

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mswizard/steps/facts"
	"mswizard/steps/host"
	"mswizard/wizard"
)

// fakeEvidence is a host whose dispatcher runs until its stop command leaves
// a mark (the stop script touches DIR/stopped); procErr makes the process
// table unreadable.
func fakeEvidence(l host.Layout, mark string, procErr error, survives bool) host.Evidence {
	stopped := func() bool { _, err := os.Stat(mark); return err == nil && !survives }
	return host.Evidence{
		Source: "fake table",
		Procs: func(context.Context) ([]host.Proc, error) {
			if procErr != nil {
				return nil, procErr
			}
			ps := []host.Proc{{Pid: 1, Args: []string{"/sbin/init"}}, {Pid: 77, Args: []string{"/other-root/bin/msg/imta/bin/dispatcher"}}}
			if !stopped() {
				ps = append(ps, host.Proc{Pid: 4242, Args: []string{l.Root + "/bin/msg/imta/bin/dispatcher"}})
			}
			return ps, nil
		},
		Listeners: func(context.Context) ([]host.Listener, error) {
			// Another program on the SMTP port of another address is not the dispatcher.
			ls := []host.Listener{{Addr: netip.MustParseAddr("127.0.0.1"), Port: 2525}}
			if !stopped() {
				ls = append(ls, host.Listener{Addr: netip.MustParseAddr("127.0.0.7"), Port: 2525})
			}
			return ls, nil
		},
	}
}

func evidenceHost(t *testing.T) (host.Layout, string) {
	t.Helper()
	dir := t.TempDir()
	l := host.Layout{Root: filepath.Join(dir, "server-root"), Instance: "budgie", Host: "budgie.siroe.com"}
	mark := filepath.Join(dir, "stopped")
	writeFiles(t, map[string]string{
		l.DispatcherCnf(): "[SERVICE=SMTP]\nPORT=2525\nINTERFACE_ADDRESS=127.0.0.7\n",
		l.IMSimta():       "#!/bin/sh\ntouch " + mark + "\n",
	})
	if err := os.Chmod(l.IMSimta(), 0o755); err != nil {
		t.Fatal(err)
	}
	return l, mark
}

func TestAStopIsSkippedOnlyWithProof(t *testing.T) {
	ctx := context.Background()
	env := (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: t.TempDir()}).Nop()

	t.Run("proved down: skipped, the proof says what was read", func(t *testing.T) {
		l, mark := evidenceHost(t)
		os.WriteFile(mark, nil, 0o644)
		s := StopDispatcher(Config{Host: l, Evidence: fakeEvidence(l, mark, nil, false)})
		done, why, err := s.Check(ctx, env)
		if err != nil || !done || !strings.Contains(why, "nothing listens on 127.0.0.7:2525") || !strings.Contains(why, "no process") || !strings.Contains(why, "fake table") {
			t.Errorf("Check = %v %q %v", done, why, err)
		}
	})
	t.Run("running: the documented stop runs and its proof is in the receipt", func(t *testing.T) {
		l, mark := evidenceHost(t)
		s := StopDispatcher(Config{Host: l, Evidence: fakeEvidence(l, mark, nil, false), StopTimeout: 5 * time.Second})
		if done, _, _ := s.Check(ctx, env); done {
			t.Fatal("a running dispatcher is taken for stopped")
		}
		rs, err := runPlan(t, ctx, env, s)
		if err != nil || len(rs) != 1 || !strings.HasSuffix(rs[0].Summary, "imsimta stop dispatcher") {
			t.Fatalf("run: %v %v", rs, err)
		}
		if !strings.Contains(rs[0].Note, "proved stopped") || !strings.Contains(rs[0].Note, "fake table") {
			t.Errorf("receipt note %q", rs[0].Note)
		}
	})
	t.Run("unknown is never down: the stop runs, and without proof the step fails", func(t *testing.T) {
		l, mark := evidenceHost(t)
		s := StopDispatcher(Config{Host: l, Evidence: fakeEvidence(l, mark, errors.New("no /proc"), false), StopTimeout: 2 * time.Second})
		if done, why, _ := s.Check(ctx, env); done {
			t.Fatalf("an unreadable process table proved the dispatcher down: %s", why)
		}
		_, err := runPlan(t, ctx, env, s)
		if _, serr := os.Stat(mark); serr != nil {
			t.Error("the documented stop did not run")
		}
		if err == nil || !strings.Contains(err.Error(), "state unknown") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a survivor fails the step naming its pid and program", func(t *testing.T) {
		l, mark := evidenceHost(t)
		s := StopDispatcher(Config{Host: l, Evidence: fakeEvidence(l, mark, nil, true), StopTimeout: 2 * time.Second})
		_, err := runPlan(t, ctx, env, s)
		if err == nil || !strings.Contains(err.Error(), "pid 4242 ("+l.Root+"/bin/msg/imta/bin/dispatcher)") ||
			strings.Contains(err.Error(), "pid 77") {
			t.Errorf("err = %v", err)
		}
	})
}

// webEvidence is a host with two web server instances: https-a runs (its
// ns-httpd naming its own config directory, listening on 127.0.0.8:8081)
// until its stop script leaves mark; https-b is down from the start.
func webEvidence(l host.Layout, mark string) host.Evidence {
	stopped := func() bool { _, err := os.Stat(mark); return err == nil }
	return host.Evidence{
		Source: "fake table",
		Procs: func(context.Context) ([]host.Proc, error) {
			ps := []host.Proc{{Pid: 1, Args: []string{"/sbin/init"}}}
			if !stopped() {
				ps = append(ps, host.Proc{Pid: 5150, Args: []string{l.Root + "/bin/https/bin/ns-httpd", "-d", l.WebDir("https-a") + "/config"}})
			}
			return ps, nil
		},
		Listeners: func(context.Context) ([]host.Listener, error) {
			if stopped() {
				return nil, nil
			}
			return []host.Listener{{Addr: netip.MustParseAddr("127.0.0.8"), Port: 8081}}, nil
		},
	}
}

func TestAStopOfSomeUnitsJournalsTheProofOfTheOthersAlreadyDown(t *testing.T) {
	ctx := context.Background()
	env := (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: t.TempDir()}).Nop()
	dir := t.TempDir()
	l := host.Layout{Root: filepath.Join(dir, "server-root"), Instance: "budgie", Host: "budgie.siroe.com"}
	mark := filepath.Join(dir, "stopped")
	writeFiles(t, map[string]string{
		l.MagnusConf("https-a"): "Port 8081\nAddress 127.0.0.8\n",
		l.MagnusConf("https-b"): "Port 8082\nAddress 127.0.0.8\n",
		l.WebStop("https-a"):    "#!/bin/sh\ntouch " + mark + "\n",
		l.WebStop("https-b"):    "#!/bin/sh\necho the stop of an instance already down must not run >&2\nexit 1\n",
	})
	for _, inst := range []string{"https-a", "https-b"} {
		if err := os.Chmod(l.WebStop(inst), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := StopWeb(Config{Host: l, Evidence: webEvidence(l, mark), StopTimeout: 5 * time.Second})
	if done, why, err := s.Check(ctx, env); err != nil || done {
		t.Fatalf("Check = %v %q %v; https-a runs", done, why, err)
	}
	acts, err := s.Plan(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{l.WebStop("https-a"), "prove https-b stopped (process table, listening sockets)"}
	if got := summaries(acts); !slices.Equal(got, want) {
		t.Fatalf("plan = %q, want %q: an instance already down is proved so in the plan, not left out", got, want)
	}
	rs, err := runJournaled(t, ctx, env, s.ID(), acts)
	if err != nil {
		t.Fatal(err)
	}
	for i, inst := range []string{"https-a", "https-b"} {
		var d opData
		if err := rs[i].DataInto(&d); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(rs[i].Note, "proved stopped: "+inst+": no process in the process table") ||
			!strings.Contains(rs[i].Note, "nothing listens on 127.0.0.8:") || !strings.Contains(rs[i].Note, "fake table") {
			t.Errorf("receipt of %s: note %q", inst, rs[i].Note)
		}
		if len(d.After) != 1 || d.After[0].Unit != inst || !d.After[0].down() {
			t.Errorf("receipt of %s: proof %+v", inst, d.After)
		}
	}
	// The undo starts only what the step found running.
	undo, err := s.Undo(ctx, env, rs)
	if err != nil {
		t.Fatal(err)
	}
	if got := summaries(undo); !slices.Equal(got, []string{l.WebStart("https-a")}) {
		t.Errorf("undo = %q, want the start of https-a only", got)
	}
}

func TestAProofFailsWhenTheUnitRunsAgain(t *testing.T) {
	ctx := context.Background()
	env := (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: t.TempDir()}).Nop()
	l, mark := evidenceHost(t)
	os.WriteFile(mark, nil, 0o644)
	c := Config{Host: l, Evidence: fakeEvidence(l, mark, nil, false)}.withDefaults()
	us, err := c.units("dispatcher")
	if err != nil {
		t.Fatal(err)
	}
	a := c.proofAction(env, "dispatcher", "dispatcher", us[0])
	os.Remove(mark) // the dispatcher started again after the plan
	r := wizard.Receipt{}
	if err := a.Do(ctx, &r); err == nil || !strings.Contains(err.Error(), "pid 4242") {
		t.Errorf("err = %v; a proof of a running unit must fail naming it", err)
	}
}

func TestAnAdministrationServerWithoutItsFilesIsStillLookedForInTheProcessTable(t *testing.T) {
	ctx := context.Background()
	env := (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: t.TempDir()}).Nop()
	l := host.Layout{Root: filepath.Join(t.TempDir(), "server-root"), Instance: "budgie", Host: "budgie.siroe.com"}
	if err := os.MkdirAll(l.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	// Neither stop-admin nor adm.conf: only the process table can tell.
	table := func(ps []host.Proc, err error) host.Evidence {
		return host.Evidence{Source: "fake table",
			Procs:     func(context.Context) ([]host.Proc, error) { return ps, err },
			Listeners: func(context.Context) ([]host.Listener, error) { return nil, nil }}
	}
	admin := host.Proc{Pid: 3131, Args: []string{l.Root + "/bin/https/bin/ns-httpd", "-d", l.AdminDir() + "/config"}}
	for _, tc := range []struct {
		name      string
		ev        host.Evidence
		stopped   bool
		mentioned string
	}{
		{"nothing of it runs: nothing to stop", table([]host.Proc{{Pid: 1, Args: []string{"/sbin/init"}}}, nil), true, ""},
		{"its ns-httpd runs: not taken for down", table([]host.Proc{admin}, nil), false, "pid 3131"},
		{"the process table cannot be read: unknown is never down", table(nil, errors.New("no /proc")), false, "admin: state unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Host: l, Evidence: tc.ev}
			done, why, err := StopAdmin(c).Check(ctx, env)
			if err != nil || done != tc.stopped {
				t.Errorf("stop/admin Check = %v %q %v, want done %v", done, why, err, tc.stopped)
			}
			err = c.ProveDown(ctx)
			if tc.stopped != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.mentioned)) {
				t.Errorf("ProveDown = %v, want it to name %q", err, tc.mentioned)
			}
		})
	}
}

// A whole-run plan shows what the run will journal: under Sun Cluster 2.2,
// stop/messaging finds the dispatcher stop/dispatcher stopped, and proves it.
func TestTheWholeRunPlanShowsTheProofOfTheDispatcherStoppedEarlier(t *testing.T) {
	ctx := context.Background()
	env := (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: t.TempDir()}).Nop()
	l, mark := evidenceHost(t)
	c := Config{Host: l, Regime: RegimeSC22, Evidence: fakeEvidence(l, mark, nil, false)}.withDefaults()
	stopMsg := c.plain().StopMsg("dispatcher").String()
	now, err := StopMessaging(c).Plan(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(summaries(now), stopMsg) {
		t.Errorf("a plan of the step alone, the dispatcher running: %q, want %q", summaries(now), stopMsg)
	}
	whole, err := StopMessaging(c).Plan(ctx, env.Project(facts.ServicesStopped))
	if err != nil {
		t.Fatal(err)
	}
	if got := summaries(whole); slices.Contains(got, stopMsg) || !slices.Contains(got, "prove dispatcher stopped (process table, listening sockets)") {
		t.Errorf("the whole-run plan after stop/dispatcher: %q, want the dispatcher's proof, not its stop", got)
	}
}
