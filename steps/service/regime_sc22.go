package service

import (
	"context"
	"fmt"

	"mswizard/steps/facts"
	"mswizard/wizard"
)

// regimeSC22: the Sun Cluster 2.2 data service iMS50 (seeds 003, 004). Its
// fault monitor restarts a stopped daemon unless `hareg -n` ran first
// (host-facts: F-CMD-006); there is no resource command that stops the
// daemons, so each is stopped with `stop-msg SERVICE`, and the restart is
// `start-msg ha` (seed 003 post-upgrade step 6).
type regimeSC22 struct{}

func (regimeSC22) Name() Regime       { return RegimeSC22 }
func (regimeSC22) HA() bool           { return true }
func (regimeSC22) DefaultBin() string { return "/opt/SUNWcluster/bin" }
func (regimeSC22) Tools() []string    { return []string{"hareg"} }
func (regimeSC22) PerUnit() bool      { return false }

func (regimeSC22) StopMessaging(Config) (wizard.Command, bool) { return wizard.Command{}, false }

func (regimeSC22) StartMessaging(c Config) wizard.Command { return c.plain().StartMsg("ha") }

func (regimeSC22) MonitorOff(c Config) (wizard.Command, bool) { return c.sc22().Off(), true }
func (regimeSC22) MonitorOn(c Config) (wizard.Command, bool)  { return c.sc22().On(), true }

// PrepareCheck: done when the data service is unregistered.
func (regimeSC22) PrepareCheck(ctx context.Context, c Config, env *wizard.Env) (bool, string, error) {
	state, err := c.haregState(ctx, env)
	if err != nil {
		return false, "", err
	}
	return state == "unregistered", fmt.Sprintf("data service %s is %s", c.Cluster.HaregService, state), nil
}

// PreparePlan: `hareg -n iMS50` then `hareg -u iMS50` (seed 003, Sun Cluster
// 2.2 upgrade steps 1-2).
func (regimeSC22) PreparePlan(c Config, env *wizard.Env) []wizard.Action {
	sc := c.sc22()
	return []wizard.Action{
		cmdAction(env, sc.Off(), opData{Op: "monitor-prep"}),
		cmdAction(env, sc.Unregister(), opData{Op: "unregister"}),
	}
}

// RestoreCheck: done when the data service is registered again. In a
// whole-run plan ha/prepare will have unregistered it by then.
func (regimeSC22) RestoreCheck(ctx context.Context, c Config, env *wizard.Env) (bool, string, error) {
	if env.Projected(facts.ClusterReleased) {
		return false, fmt.Sprintf("ha/prepare will have unregistered data service %s by then", c.Cluster.HaregService), nil
	}
	state, err := c.haregState(ctx, env)
	if err != nil {
		return false, "", err
	}
	return state != "unregistered", fmt.Sprintf("data service %s is %s", c.Cluster.HaregService, state), nil
}

// RestorePlan: `hareg -r iMS50 -h LOGICALHOST`, what the agent installation
// does (seed 003 upgrade step 7): the data service is registered for the
// logical host that masters it (Sun Cluster 2.2 API Developer's Guide,
// "Registering a Data Service"; docs/host-facts.md F-CMD-008).
func (regimeSC22) RestorePlan(c Config, env *wizard.Env, _ string) []wizard.Action {
	return []wizard.Action{cmdAction(env, c.sc22().Register("-h", c.Cluster.LogicalHost), opData{Op: "register"})}
}
