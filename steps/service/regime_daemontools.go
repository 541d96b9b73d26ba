package service

import (
	"context"

	"mswizard/wizard"
)

// regimeDaemontools: supervise runs each service (seed 001); `svc -d` and a
// down file stop one, `svc -u` starts it; a service without a service
// directory falls back to its own scripts.
type regimeDaemontools struct{}

func (regimeDaemontools) Name() Regime       { return RegimeDaemontools }
func (regimeDaemontools) HA() bool           { return false }
func (regimeDaemontools) DefaultBin() string { return "" }
func (regimeDaemontools) Tools() []string    { return nil }
func (regimeDaemontools) PerUnit() bool      { return true }

// StopMessaging: a whole-server stop-msg would be undone by supervise; the
// units are stopped one by one.
func (regimeDaemontools) StopMessaging(c Config) (wizard.Command, bool) {
	return c.plain().StopMsg(""), true
}

func (regimeDaemontools) StartMessaging(c Config) wizard.Command { return c.plain().StartMsg("") }

func (regimeDaemontools) MonitorOff(Config) (wizard.Command, bool) { return wizard.Command{}, false }
func (regimeDaemontools) MonitorOn(Config) (wizard.Command, bool)  { return wizard.Command{}, false }

func (regimeDaemontools) PrepareCheck(context.Context, Config, *wizard.Env) (bool, string, error) {
	return true, "no cluster: nothing to prepare", nil
}
func (regimeDaemontools) PreparePlan(Config, *wizard.Env) []wizard.Action { return nil }
func (regimeDaemontools) RestoreCheck(context.Context, Config, *wizard.Env) (bool, string, error) {
	return true, "no cluster: nothing to restore", nil
}
func (regimeDaemontools) RestorePlan(Config, *wizard.Env, string) []wizard.Action { return nil }
