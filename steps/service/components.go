package service

import (
	"context"
	"fmt"
	"strings"

	"mswizard/steps/facts"
	"mswizard/steps/host"
	"mswizard/wizard"
)

// Delegated Administrator and a Web Server in its own root (the appendix's
// webserver-root) are components of the run: the appendix's backout stops
// them first and starts them last, strictly in that order (iPlanet Messaging
// Server 5.2 Installation Guide, Appendix C, "To back out of the upgrade",
// steps 1 and 5). The upgrade does the same around the Messaging Server: they
// are stopped after the dispatcher and before every other service, and
// started after them all.
//
// Delegated Administrator 1.x is a set of servlets that run inside an iPlanet
// Web Server 6.0 instance on the same machine (its Installation and
// Administration Guide 1.2, ch. 2, table 2-1 step 4; ch. 3: a change to its
// resource.properties takes effect when the web server is restarted), so it is
// stopped and started with that instance's own https-NAME/stop and start
// (docs/host-facts.md F-DA-001, F-DA-002). A component that is not installed
// is skipped, and the skip says why (journaled with it).

// Step IDs of the components.
const (
	IDStopDelegatedAdmin  = "stop/delegated-admin"
	IDStopWebServerRoot   = "stop/webserver-root"
	IDStartWebServerRoot  = "post/start-webserver-root"
	IDStartDelegatedAdmin = "post/start-delegated-admin"
)

// Finding IDs of the components' preflight.
const (
	FindDAMissing  = "PRE-DA-001"  // the answers name Delegated Administrator, the host does not have it
	FindWebMissing = "PRE-WEB-001" // WebServerRoot holds no instance
)

// webRoot is the configuration that controls WebServerRoot's instances: the
// same host, seen through a layout whose root is the web server's (its
// https-NAME/stop and start, its bin/https/bin/ns-httpd, its magnus.conf).
func (c Config) webRoot() Config {
	w := c
	w.Host = host.Layout{Root: c.WebServerRoot, Instance: c.Host.Instance, Host: c.Host.Host}
	// Supervision is the messaging services' (ServiceDir); the web server's
	// instances are controlled by their own scripts.
	w.SvcDir, w.ServiceDir = nil, ""
	return w
}

// webRootUnits are WebServerRoot's instances but Delegated Administrator's.
func (c Config) webRootUnits() []string {
	if c.WebServerRoot == "" {
		return nil
	}
	var out []string
	for _, inst := range webUnits(c.webRoot().Host) {
		if inst != c.DelegatedAdminInstance {
			out = append(out, inst)
		}
	}
	return out
}

// componentStep stops or starts one component in WebServerRoot.
type componentStep struct {
	step
	comp Component
	stop bool
	// units lists what the component runs as now; why says why it is
	// skipped when the list is empty.
	units func() (names []string, why string)
}

// phase declares a component's stop or start step.
func (s *componentStep) phase(id, title string) wizard.Step {
	p := wizard.Phase{ID: id, Title: title, Check: s.Check, Plan: s.Plan, Undo: s.Undo,
		UndoText: s.undoText(), Establishes: s.establishes(), Backout: s.backoutKey()}
	if s.stop {
		p.Preflight = s.findings
	}
	return p.Step()
}

// StopDelegatedAdmin is stop/delegated-admin: Delegated Administrator's web
// server instance stopped, the first of the appendix's strict order.
func StopDelegatedAdmin(c Config) wizard.Step {
	c = c.withDefaults()
	return (&componentStep{step{c}, DelegatedAdmin, true, c.daUnits}).phase(IDStopDelegatedAdmin, "Stop iPlanet Delegated Administrator")
}

// StopWebServerRoot is stop/webserver-root: the instances of the Web Server in
// its own root, after Delegated Administrator and before the Messaging Server.
func StopWebServerRoot(c Config) wizard.Step {
	c = c.withDefaults()
	return (&componentStep{step{c}, WebServer, true, c.webRootNames}).phase(IDStopWebServerRoot, "Stop the iPlanet Web Server in its own root (WebServerRoot)")
}

// StartWebServerRoot is post/start-webserver-root: after the Messaging Server.
func StartWebServerRoot(c Config) wizard.Step {
	c = c.withDefaults()
	return (&componentStep{step{c}, WebServer, false, c.webRootNames}).phase(IDStartWebServerRoot, "Start the iPlanet Web Server in its own root (WebServerRoot)")
}

// StartDelegatedAdmin is post/start-delegated-admin: the last start.
func StartDelegatedAdmin(c Config) wizard.Step {
	c = c.withDefaults()
	return (&componentStep{step{c}, DelegatedAdmin, false, c.daUnits}).phase(IDStartDelegatedAdmin, "Start iPlanet Delegated Administrator")
}

func (c Config) daUnits() ([]string, string) {
	ok, units, why := c.detectDA()
	if !ok {
		return nil, "Delegated Administrator " + why
	}
	return units, ""
}

func (c Config) webRootNames() ([]string, string) {
	if c.WebServerRoot == "" {
		return nil, "no Web Server in its own root (WebServerRoot unset)"
	}
	if us := c.webRootUnits(); len(us) > 0 {
		return us, ""
	}
	return nil, "no web server instance (https-*) in WebServerRoot " + c.WebServerRoot
}

// establishes: the component is down, or up again.
func (s *componentStep) establishes() []wizard.Fact {
	if s.stop {
		return []wizard.Fact{s.stoppedFact()}
	}
	return []wizard.Fact{wizard.Not(s.stoppedFact())}
}

// stoppedFact is the fact of this component's stop.
func (s *componentStep) stoppedFact() wizard.Fact {
	if s.comp == DelegatedAdmin {
		return facts.DelegatedAdminStopped
	}
	return facts.WebServerRootStopped
}

// backoutKey: a stop is undone by a start in the appendix's start order, a
// start by a stop in its stop order.
func (s *componentStep) backoutKey() wizard.BackoutKey {
	if s.stop {
		return wizard.BackoutKey{Stage: wizard.BackoutStart, Rank: startRank(s.comp)}
	}
	return wizard.BackoutKey{Stage: wizard.BackoutStop, Rank: stopRank(s.comp)}
}

// undoText says what backout does, in the appendix's words.
func (s *componentStep) undoText() string {
	if s.stop {
		return fmt.Sprintf("start %s again, in the appendix's start order (place %d of %d)", s.comp.Name(), startRank(s.comp), len(appendixStopOrder))
	}
	return fmt.Sprintf("stop %s, in the appendix's stop order (place %d of %d)", s.comp.Name(), stopRank(s.comp), len(appendixStopOrder))
}

// findings: the answers name a component the host does not have. A stop that
// cannot be made is never taken for one that is not needed.
func (s *componentStep) findings(context.Context, *wizard.Env) ([]wizard.Finding, error) {
	c := s.c
	switch s.comp {
	case DelegatedAdmin:
		if c.DelegatedAdminRoot == "" {
			return nil, nil
		}
		if ok, _, why := c.detectDA(); !ok {
			return []wizard.Finding{{ID: FindDAMissing, Severity: wizard.Inhibitor,
				Message:     "DelegatedAdminRoot is set but Delegated Administrator cannot be stopped: " + why,
				Remediation: "correct DelegatedAdminRoot, DelegatedAdminInstance and WebServerRoot, or remove DelegatedAdminRoot if it is not installed"}}, nil
		}
	case WebServer:
		if c.WebServerRoot == "" {
			return nil, nil
		}
		if len(webUnits(c.webRoot().Host)) == 0 {
			return []wizard.Finding{{ID: FindWebMissing, Severity: wizard.Warning,
				Message:     "no web server instance (https-*) in WebServerRoot " + c.WebServerRoot,
				Remediation: "correct WebServerRoot, or remove it if no web server has its own root"}}, nil
		}
	}
	return nil, nil
}

// cfg is the configuration that controls the component's units.
func (s *componentStep) cfg() Config { return s.c.webRoot() }

func (s *componentStep) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	names, why := s.units()
	if len(names) == 0 {
		return true, why + ": skipped", nil
	}
	c := s.cfg()
	us, err := c.units(names...)
	if err != nil {
		return false, "", err
	}
	if s.stop {
		return c.stoppedCheck(ctx, us)
	}
	if env.Projected(s.stoppedFact()) {
		return false, "the stop steps will have stopped " + s.comp.Name() + " by then", nil
	}
	done := true
	var ws []string
	for _, u := range us {
		st, err := c.observe(ctx, u)
		if err != nil {
			return false, "", err
		}
		done = done && st.up()
		ws = append(ws, st.describe())
	}
	return done, strings.Join(ws, "; "), nil
}

func (s *componentStep) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	names, _ := s.units()
	if len(names) == 0 {
		return nil, nil
	}
	c := s.cfg()
	us, err := c.units(names...)
	if err != nil {
		return nil, err
	}
	var acts []wizard.Action
	for _, u := range us {
		if s.stop {
			a, err := c.stopUnit(ctx, env, "web", u)
			if err != nil {
				return nil, err
			}
			acts = append(acts, a...)
			continue
		}
		st, err := c.observe(ctx, u)
		if err != nil {
			return nil, err
		}
		if st.up() && !env.Projected(s.stoppedFact()) {
			continue
		}
		cmd, _ := c.startCmd("web", u.Name)
		acts = append(acts, c.startAction(env, "web", u.Name, cmd, []unit{u}, nil))
	}
	return acts, nil
}

// Undo: a stop's units started again, a start's stopped again.
func (s *componentStep) Undo(ctx context.Context, env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	c := s.cfg()
	if s.stop {
		return c.undoStops(env, receipts)
	}
	ds, err := receiptsData(env, receipts)
	if err != nil {
		return nil, err
	}
	var acts []wizard.Action
	for _, d := range ds {
		if d.Op != "web" || len(d.Units) == 0 {
			continue
		}
		us, err := c.units(d.Units...)
		if err != nil {
			return nil, err
		}
		cmd, _ := c.stopCmd("web", d.Arg)
		acts = append(acts, c.ensureDown(env, "web", d.Arg, cmd, us))
	}
	return acts, nil
}
