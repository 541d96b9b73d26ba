package answers

import "testing"

// The hash pins a run's inputs. The operator's decisions that the wizard itself
// tells them to add to a run in progress — Confirm = yes for a point of no
// return, Waive for a preflight inhibitor, ConfigDecision for a merge conflict —
// are not inputs: adding them must not make the run refuse to resume.
func TestHashLeavesOutTheOperatorsDecisions(t *testing.T) {
	base, err := Load(write(t, "install.inf", good, 0o600), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, extra := range map[string]string{
		"Confirm":        "Confirm = yes\n",
		"Waive":          "Waive = PRE-DISK-001 backups go to a volume checked by hand\n",
		"ConfigDecision": "ConfigDecision = config/local.conf local.x old\n",
	} {
		t.Run(name, func(t *testing.T) {
			a, err := Load(write(t, "install.inf", good+extra, 0o600), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if a.Hash() != base.Hash() {
				t.Errorf("adding %q changed the pinned hash", extra)
			}
		})
	}
}
