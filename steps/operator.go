package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"mswizard/steps/service"
	"mswizard/wizard"
)

// Operator actions: the appendix's steps a wizard cannot take itself — another
// product's installer, a package on every cluster node, the rest of a chapter
// of the Installation Guide. Each is a step of the run that the plan and the
// report show, and that waits for the operator's confirmation before the run
// goes on: the TUI asks; a batch run stops with exit 3 naming the action and
// the line that confirms it (`Confirmed = STEP` in [Wizard], the mechanism the
// runbook files' confirm steps use; Confirm = yes and --yes confirm them all).
// None is ever left out silently: one that does not apply to the host is
// skipped, and the skip says why (journaled with it).

// Step IDs of the operator actions.
const (
	IDWebServerUpgrade      = "post/web-server-upgrade"
	IDDelegatedAdminUpgrade = "post/delegated-admin-upgrade"
	IDSC3Agent              = "post/sc3-agent"
	IDVeritasChapter4       = "post/veritas-chapter4"
)

// OperatorActions lists the operator actions' step IDs, for the faces.
func OperatorActions() []string {
	return []string{IDSC3Agent, IDVeritasChapter4, IDWebServerUpgrade, IDDelegatedAdminUpgrade}
}

// operatorStep declares one operator action: skipped, saying why, where the
// host does not need it; otherwise a step whose Confirm the engine asks (or
// the answers' Confirmed = ID gave already).
func (c *Config) operatorStep(id, title string, applies func() (bool, string), what ...string) wizard.Step {
	confirmed := slices.Contains(c.Answers.Confirmed, id)
	p := wizard.Phase{ID: id, Title: title,
		Check: func(context.Context, *wizard.Env) (bool, string, error) {
			if ok, why := applies(); !ok {
				return true, why + ": skipped", nil
			}
			return false, "an operator action: confirmed on every run that reaches it", nil
		},
		Plan: func(context.Context, *wizard.Env) ([]wizard.Action, error) {
			return []wizard.Action{{Summary: "operator action: " + what[0], Idempotent: true,
				Do: func(_ context.Context, r *wizard.Receipt) error {
					r.Note = "confirmed by the operator: " + strings.Join(what, " ")
					if confirmed {
						r.Note = "confirmed by Confirmed = " + id + " in the answers: " + strings.Join(what, " ")
					}
					return nil
				}}}, nil
		},
		UndoText: "nothing: an operator action is the operator's to take back",
	}
	// The question is asked only where the host needs the action and the
	// answers have not confirmed it; whether a component is installed does
	// not change while the run reads it.
	if ok, _ := applies(); ok && !confirmed {
		p.Confirm = fmt.Sprintf("operator action %s: %s\nConfirm once it is done (in batch: add `Confirmed = %s` to [Wizard], or rerun with --yes).",
			id, strings.Join(what, " "), id)
	}
	return p.Step()
}

// WebServerUpgrade is post/web-server-upgrade, the appendix's post-upgrade
// step 4: an existing iPlanet Web Server is upgraded to the version Messaging
// Server 5.2 supports, iPlanet Web Server 6.0 Service Pack 2 (iPlanet Web
// Server Installation and Migration Guide). It applies when the host has a
// Web Server (service.Config.Detect: an https-* instance other than the
// Administration Server's, in the server root or in WebServerRoot).
func WebServerUpgrade(c *Config) wizard.Step {
	sc := c.Service()
	return c.operatorStep(IDWebServerUpgrade, "Operator action: upgrade the iPlanet Web Server to 6.0 SP2 (appendix C, post-upgrade step 4)",
		func() (bool, string) { return present(sc, service.WebServer) },
		"upgrade the existing iPlanet Web Server to iPlanet Web Server 6.0 Service Pack 2, the version Messaging Server 5.2 supports;",
		"an earlier iPlanet Web Server or Netscape Enterprise Server cannot be upgraded to 6.0 SP2, but Web Server 4.x can be migrated",
		"(Installation Guide, Appendix C, post-upgrade step 4; iPlanet Web Server Installation and Migration Guide).")
}

// DelegatedAdminUpgrade is post/delegated-admin-upgrade, the appendix's
// post-upgrade step 5: the installed Delegated Administrator is uninstalled and
// iPlanet Delegated Administrator for Messaging and Collaboration 1.2
// installed. Its uninstall keeps the web server's Delegated Administrator
// configuration as *.nda files (servlets.properties.nda), and needs the Web
// Server and the Directory Server running (its Installation and
// Administration Guide, ch. 3, "Uninstalling Delegated Administrator"): the
// runbook asks after it has started them.
func DelegatedAdminUpgrade(c *Config) wizard.Step {
	sc := c.Service()
	return c.operatorStep(IDDelegatedAdminUpgrade, "Operator action: install Delegated Administrator 1.2 (appendix C, post-upgrade step 5)",
		func() (bool, string) { return present(sc, service.DelegatedAdmin) },
		fmt.Sprintf("uninstall the current iPlanet Delegated Administrator (%s/uninstall, with the Web Server and the Directory Server running)", c.Answers.DelegatedAdminRoot),
		"and install iPlanet Delegated Administrator for Messaging and Collaboration 1.2, the version Messaging Server 5.2 supports;",
		"the uninstall keeps the web server's Delegated Administrator settings as *.nda files (servlets.properties.nda)",
		"(Installation Guide, Appendix C, post-upgrade step 5; Delegated Administrator 1.2 Installation and Administration Guide).")
}

// SC3Agent is post/sc3-agent: on Sun Cluster 3, the SUNWscims package from the
// Messaging Server 5.2 CD-ROM installed on every cluster node, which upgrades
// the Messaging Server HA agent (appendix C, "Upgrading with Sun Cluster 3.x";
// "Sun Cluster 3.0 U1 and U2 agent installation"). It is confirmed before
// post/start enables the resource again. The nodes come from ClusterNodes.
func SC3Agent(c *Config) wizard.Step {
	nodes := c.Answers.ClusterNodes
	on := "on every cluster node (ClusterNodes names none: list them in [Wizard])"
	if len(nodes) > 0 {
		on = "on each cluster node: " + strings.Join(nodes, ", ")
	}
	return c.operatorStep(IDSC3Agent, "Operator action: the SUNWscims agent on every Sun Cluster 3 node",
		func() (bool, string) {
			if c.Answers.Regime != string(service.RegimeSC3) {
				return false, "not a Sun Cluster 3 host (Regime = " + c.Answers.Regime + ")"
			}
			return true, ""
		},
		"install the SUNWscims package from the Messaging Server 5.2 CD-ROM "+on+" (pkgadd -d CDROM_DIR SUNWscims),",
		"which upgrades the Messaging Server HA agent; the resource "+c.Answers.ClusterResource+" is enabled again after this confirmation",
		"(Installation Guide, Appendix C, Sun Cluster 3.x; \"Sun Cluster 3.0 U1 and U2 agent installation\").")
}

// VeritasChapter4 is post/veritas-chapter4: on Veritas Cluster Server, after
// post/ha-restore set the dependency tree again (appendix C, Veritas step 8:
// "as pre-installation step 6"), the rest of chapter 4's Veritas Cluster
// Server installation steps are the operator's.
func VeritasChapter4(c *Config) wizard.Step {
	a := c.Answers
	return c.operatorStep(IDVeritasChapter4, "Operator action: the remaining Veritas Cluster Server steps of chapter 4",
		func() (bool, string) {
			if a.Regime != string(service.RegimeVeritas) {
				return false, "not a Veritas Cluster Server host (Regime = " + a.Regime + ")"
			}
			return true, ""
		},
		fmt.Sprintf("follow the remaining Veritas Cluster Server installation steps of chapter 4 (\"High Availability\") for service group %s: the dependency tree of %s on %s and %s is set again (post/ha-restore);", a.ClusterGroup, a.ClusterResource, a.IPResource, a.MountResource),
		"the rest of the chapter's steps are done by hand",
		"(Installation Guide, Appendix C, Veritas Cluster Server step 8; chapter 4, Veritas Cluster Server).")
}

// present says whether the host has a component, and why it is skipped.
func present(sc service.Config, comp service.Component) (bool, string) {
	for _, p := range sc.Detect() {
		if p.Component == comp {
			if p.Installed {
				return true, ""
			}
			return false, p.Component.Name() + ": " + p.Why
		}
	}
	return false, string(comp) + ": not a component of the procedure"
}
