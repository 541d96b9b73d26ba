package service

import (
	"context"
	"fmt"

	"mswizard/wizard"
	"mswizard/wizard/answers"
)

// regime is what controls a host's Messaging Server processes. Each one is
// implemented in a file of its own (regime_plain.go, regime_daemontools.go,
// regime_sc22.go, regime_sc3.go, regime_veritas.go) and checked by one
// conformance suite (regime_test.go). The names and the answers keys each
// needs are written once, in answers.Regimes.
type regime interface {
	// Name is the regime's name in the answers (Regime = NAME).
	Name() Regime
	// HA: the regime is a cluster, under which the product refuses a
	// whole-server stop-msg (host-facts: F-CMD-007).
	HA() bool
	// DefaultBin is the directory of the regime's commands when the answers
	// name none ("" when it has none).
	DefaultBin() string
	// Tools are the commands the preflight requires in the command directory.
	Tools() []string
	// StopMessaging is the regime's stop of the whole messaging server; ok
	// false means none exists and each service is stopped with `stop-msg
	// SERVICE` (or, supervised, `svc -d`).
	StopMessaging(c Config) (cmd wizard.Command, ok bool)
	// StartMessaging is the regime's start of the whole messaging server.
	StartMessaging(c Config) wizard.Command
	// MonitorOff and MonitorOn switch the regime's fault monitor (ok false:
	// the regime has none).
	MonitorOff(c Config) (wizard.Command, bool)
	MonitorOn(c Config) (wizard.Command, bool)
	// PerUnit: the regime starts and stops each unit by itself (daemontools'
	// supervise), not the whole server at once.
	PerUnit() bool
	// PrepareCheck and PreparePlan are ha/prepare, the cluster's own
	// preparation before the upgrade; RestoreCheck and RestorePlan are
	// post/ha-restore after it (seed 003's HA sections). Their undo is common
	// (Config.reverseHA), read from the receipts.
	PrepareCheck(ctx context.Context, c Config, env *wizard.Env) (bool, string, error)
	PreparePlan(c Config, env *wizard.Env) []wizard.Action
	RestoreCheck(ctx context.Context, c Config, env *wizard.Env) (bool, string, error)
	RestorePlan(c Config, env *wizard.Env, step string) []wizard.Action
}

// regimes are the implementations; the conformance suite checks that they
// are exactly answers.Regimes.
var regimes = []regime{regimePlain{}, regimeDaemontools{}, regimeSC22{}, regimeSC3{}, regimeVeritas{}}

// lookupRegime finds a regime's implementation.
func lookupRegime(r Regime) (regime, bool) {
	for _, x := range regimes {
		if x.Name() == r {
			return x, true
		}
	}
	return nil, false
}

// driver is the configuration's regime; an unknown one (Validate reports it)
// behaves as plain, so nothing here panics on bad answers.
func (c Config) driver() regime {
	if d, ok := lookupRegime(c.Regime); ok {
		return d
	}
	return regimePlain{}
}

// regimeValue is the configuration's value of an answers key a regime needs.
func (c Config) regimeValue(key string) string {
	switch key {
	case "ServiceDir":
		return c.ServiceDir
	case "ClusterResource":
		return c.Cluster.Resource
	case "ClusterGroup":
		return c.Cluster.Group
	case "ClusterSystem":
		if c.systemDefaulted {
			return ""
		}
		return c.Cluster.System
	case "IPResource":
		return c.Cluster.IPResource
	case "MountResource":
		return c.Cluster.MountResource
	}
	return ""
}

// needs reports what the regime needs and the configuration lacks, in the
// words `answers validate` uses.
func (c Config) needs() error {
	if _, ok := lookupRegime(c.Regime); !ok {
		return fmt.Errorf("service: config: unknown regime %q (want one of %v)", c.Regime, answers.RegimeNames())
	}
	if msg := answers.MissingForRegime(string(c.Regime), c.regimeValue); msg != "" {
		return fmt.Errorf("service: config: %s", msg)
	}
	return nil
}
