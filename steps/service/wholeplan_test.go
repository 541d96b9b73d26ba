package service

import (
	"slices"
	"strings"
	"testing"
	"time"

	"mswizard/steps/facts"
	"mswizard/wizard"
)

// TestTheWholeRunPlanOfTheServiceStepsIsWhatApplyingThemDoes: the service
// steps planned as one run (each against the host as the steps before it
// leave it) are exactly the actions applying them then runs — on daemontools,
// where stop/dispatcher's down file and svc -d leave nothing for
// stop/messaging to do for the dispatcher and post/start removes the down
// files the stops made, and on Sun Cluster 2.2, where stop/messaging stops one
// service at a time (never the dispatcher twice) and post/ha-restore registers
// the data service ha/prepare unregistered.
func TestTheWholeRunPlanOfTheServiceStepsIsWhatApplyingThemDoes(t *testing.T) {
	t.Parallel()
	for _, r := range []Regime{RegimeDaemontools, RegimeSC22} {
		t.Run(string(r), func(t *testing.T) {
			t.Parallel()
			_, c := simWorld(t, r)
			steps := append(stepsOf(PreUpgrade(c), IDDirectoryUp, IDDirectoryUpAfterHA), PostUpgrade(c)...)
			env := (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: t.TempDir()}).Nop()
			rep, err := (&wizard.Runner{Steps: steps, Env: env}).Plan(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var planned []string
			for _, s := range rep.Steps {
				if s.Error != "" {
					t.Errorf("%s: %s", s.ID, s.Error)
				}
				for _, a := range s.Actions {
					planned = append(planned, s.ID+": "+a.Summary)
				}
			}
			var done []string
			for _, x := range apply(t, env, steps...) {
				for _, rc := range x.rs {
					done = append(done, x.s.ID()+": "+rc.Summary)
				}
			}
			if !slices.Equal(planned, done) {
				t.Errorf("applying the steps ran\n  %s\nthe whole-run plan said\n  %s", strings.Join(done, "\n  "), strings.Join(planned, "\n  "))
			}
		})
	}
}

// The facts a whole-run plan hands on are read where the run would find them:
// a data service ha/prepare unregisters is not registered yet for
// post/ha-restore, whatever the cluster says at planning time.
func TestTheProjectedFactsAreReadByTheStepsAfterThem(t *testing.T) {
	env := (&wizard.Env{}).Nop().Project()
	c := Config{Regime: RegimeSC22, Cluster: Cluster{HaregService: "iMS50", LogicalHost: "budgie.siroe.com"}}.withDefaults()
	if done, why, err := (regimeSC22{}).RestoreCheck(t.Context(), c, env.Project(facts.ClusterReleased)); err != nil || done || !strings.Contains(why, "ha/prepare") {
		t.Errorf("post/ha-restore with the cluster released: done %v (%q, %v); want to plan the registration", done, why, err)
	}
	for _, tc := range []struct {
		regime Regime
		want   []wizard.Fact
	}{
		{RegimeSC22, []wizard.Fact{facts.ClusterReleased}},
		{RegimeVeritas, []wizard.Fact{facts.ClusterReleased}},
		{RegimeSC3, nil},
		{RegimePlain, nil},
		{RegimeDaemontools, nil},
	} {
		if got := (Config{Regime: tc.regime}).prepareFacts(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: ha/prepare establishes %v, want %v", tc.regime, got, tc.want)
		}
	}
	// The start of the Web Server in its own root does not end the projection
	// of Delegated Administrator's stop: its start after it is still planned.
	for _, tc := range []struct {
		s    wizard.Step
		want wizard.Fact
	}{
		{StopDelegatedAdmin(c), facts.DelegatedAdminStopped},
		{StopWebServerRoot(c), facts.WebServerRootStopped},
		{StartWebServerRoot(c), wizard.Not(facts.WebServerRootStopped)},
		{StartDelegatedAdmin(c), wizard.Not(facts.DelegatedAdminStopped)},
	} {
		if got := wizard.Describe(tc.s).Establishes; !slices.Equal(got, []wizard.Fact{tc.want}) {
			t.Errorf("%s establishes %v, want %v", tc.s.ID(), got, tc.want)
		}
	}
	u := unit{Name: dispatcherUnit, SvcDir: t.TempDir()}
	if hasDownFile(env, u) || !hasDownFile(env.Project(facts.DispatcherStopped), u) {
		t.Error("the dispatcher's down file is made by stop/dispatcher, in the plan as in the run")
	}
	if st, _ := c.planObserve(t.Context(), env.Project(facts.DispatcherStopped), u); !st.down() {
		t.Errorf("the dispatcher stop/dispatcher stopped is planned as %s, want down", st.describe())
	}
	var none hostState
	if downFileMade(env, none, u) || !downFileMade(env.Project(facts.DownFilesMade), none, u) {
		t.Error("post/start removes the down file the stops will make, and only that")
	}
	if downFileMade(env.Project(facts.DownFilesMade), hostState{DownExisted: map[string]bool{u.SvcDir: true}}, u) {
		t.Error("a down file the journal says was there before the run is kept")
	}
}

// Every service step that changes the host says what backout does for it,
// for the plan's "if you stop after this step" lists; only the read-only
// checks and the probe have nothing to say.
func TestEveryServiceStepThatActsSaysWhatItsBackoutDoes(t *testing.T) {
	readOnly := []string{IDHAProbe, IDDirectoryUp, IDDirectoryUpAfterHA}
	for _, r := range []Regime{RegimePlain, RegimeDaemontools, RegimeSC22, RegimeSC3, RegimeVeritas} {
		c := Config{Regime: r, Cluster: Cluster{Resource: "mail"}}.withDefaults()
		for _, s := range append(PreUpgrade(c), PostUpgrade(c)...) {
			if slices.Contains(readOnly, s.ID()) {
				continue
			}
			if u := wizard.Describe(s).UndoText; u == "" {
				t.Errorf("%s: %s says nothing of its backout", r, s.ID())
			}
		}
	}
	sc22 := Config{Regime: RegimeSC22, Cluster: Cluster{LogicalHost: "budgie.siroe.com"}}.withDefaults()
	if u := wizard.Describe(HAPrepare(sc22)).UndoText; !strings.Contains(u, "register the data service iMS50 again for budgie.siroe.com") {
		t.Errorf("ha/prepare's backout on Sun Cluster 2.2: %q", u)
	}
	if u := wizard.Describe(StopDispatcher(sc22)).UndoText; !strings.Contains(u, "start the MTA dispatcher (imsimta start dispatcher) again") {
		t.Errorf("stop/dispatcher's backout: %q", u)
	}
}
