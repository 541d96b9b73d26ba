package steps

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"mswizard/steps/host"
	"mswizard/wizard"
)

// Findings of the instance the answers name (host-facts: F-LAYOUT-002).
const (
	// FindingRootNotListed: the node's nsserver.cfg does not list ServerRoot.
	FindingRootNotListed = "PRE-ROOT-004"
	// FindingInstance: the server root does not hold exactly the one
	// msg-INSTANCE the answers name.
	FindingInstance = "PRE-ROOT-005"
)

// instanceFindings checks the answers against the host's own instance
// discovery (host-facts: F-LAYOUT-002): the node's nsserver.cfg lists its
// server roots, and a server root holds one messaging instance. A ServerRoot
// the list does not name is a warning (the file's syntax is partly an
// assumption, and a node may keep it elsewhere); a server root without the
// one msg-INSTANCE the answers name is an inhibitor, naming what is there —
// the stops, the archive and the installer would act on another instance.
func (c *Config) instanceFindings() []wizard.Finding {
	var fs []wizard.Finding
	root := c.Host.ServerRoot()
	cfg := c.NSServerCfg
	if cfg == "" {
		cfg = host.NSServerCfg
	}
	roots, err := host.ServerRoots(cfg)
	switch {
	case err != nil:
		fs = append(fs, wizard.Finding{ID: FindingRootNotListed, Severity: wizard.Warning,
			Message:     fmt.Sprintf("cannot read the node's list of server roots: %v; ServerRoot %s is not confirmed by it (docs/host-facts.md F-LAYOUT-002)", err, root),
			Remediation: "check ServerRoot in [General]; where the node keeps its list elsewhere, set [Wizard] NSServerCfg"})
	case !slices.Contains(roots, filepath.Clean(root)):
		listed := "none"
		if len(roots) > 0 {
			listed = strings.Join(roots, ", ")
		}
		fs = append(fs, wizard.Finding{ID: FindingRootNotListed, Severity: wizard.Warning,
			Message:     fmt.Sprintf("ServerRoot %s is not listed in %s (it lists %s): the node does not know it as a server root (docs/host-facts.md F-LAYOUT-002)", root, cfg, listed),
			Remediation: fmt.Sprintf("check ServerRoot in [General] against %s", cfg)})
	}
	inst, err := host.Instance(root)
	var several *host.InstancesError
	switch {
	case errors.As(err, &several):
		fs = append(fs, wizard.Finding{ID: FindingInstance, Severity: wizard.Inhibitor,
			Message:     fmt.Sprintf("%s holds %d messaging instances (msg-%s); the product allows one per server root (docs/host-facts.md F-LAYOUT-002)", root, len(several.Found), strings.Join(several.Found, ", msg-")),
			Remediation: "find out which directory is the live instance and move the other out of the server root, then rerun"})
	case errors.Is(err, host.ErrNoInstance):
		fs = append(fs, wizard.Finding{ID: FindingInstance, Severity: wizard.Inhibitor,
			Message:     fmt.Sprintf("%s holds no msg-INSTANCE directory: it is not a Messaging Server's server root (docs/host-facts.md F-LAYOUT-002)", root),
			Remediation: "set ServerRoot in [General] to the server root of the Messaging Server"})
	case err != nil:
		fs = append(fs, wizard.Finding{ID: FindingInstance, Severity: wizard.Inhibitor,
			Message:     fmt.Sprintf("cannot read the server root for its instance: %v", err),
			Remediation: "check ServerRoot in [General] and run the wizard as root"})
	case inst != c.Host.Instance:
		fs = append(fs, wizard.Finding{ID: FindingInstance, Severity: wizard.Inhibitor,
			Message:     fmt.Sprintf("%s holds the instance msg-%s, the answers name Instance = %s (docs/host-facts.md F-LAYOUT-002)", root, inst, c.Host.Instance),
			Remediation: fmt.Sprintf("set [Wizard] Instance = %s if that is the instance to upgrade", inst)})
	}
	return fs
}

// preflight is the installer step's preflight: the instance the answers name
// is the server root's one instance, then its installed version.
func (s *installer) preflight(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
	fs := s.c.instanceFindings()
	more, err := s.findings(ctx, env)
	return append(fs, more...), err
}
