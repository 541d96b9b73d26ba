package service

import (
	"context"

	"mswizard/wizard"
)

// regimePlain: start-msg and stop-msg and the server-root scripts control the
// processes (host-facts: F-CMD-001, F-CMD-002).
type regimePlain struct{}

func (regimePlain) Name() Regime       { return RegimePlain }
func (regimePlain) HA() bool           { return false }
func (regimePlain) DefaultBin() string { return "" }
func (regimePlain) Tools() []string    { return nil }
func (regimePlain) PerUnit() bool      { return false }

func (regimePlain) StopMessaging(c Config) (wizard.Command, bool) {
	return c.plain().StopMsg(""), true
}

func (regimePlain) StartMessaging(c Config) wizard.Command { return c.plain().StartMsg("") }

func (regimePlain) MonitorOff(Config) (wizard.Command, bool) { return wizard.Command{}, false }
func (regimePlain) MonitorOn(Config) (wizard.Command, bool)  { return wizard.Command{}, false }

func (regimePlain) PrepareCheck(context.Context, Config, *wizard.Env) (bool, string, error) {
	return true, "no cluster: nothing to prepare", nil
}
func (regimePlain) PreparePlan(Config, *wizard.Env) []wizard.Action { return nil }
func (regimePlain) RestoreCheck(context.Context, Config, *wizard.Env) (bool, string, error) {
	return true, "no cluster: nothing to restore", nil
}
func (regimePlain) RestorePlan(Config, *wizard.Env, string) []wizard.Action { return nil }
