package runbook

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"mswizard/steps/node"
	"mswizard/wizard/answers"
)

// buildSeed002 builds the shipped seed 002 runbook for the answers given,
// with the control host standing in for both nodes, and returns the step IDs
// (an "each" step as its per-node IDs).
func buildSeed002(t *testing.T, setup string, mail bool) []string {
	t.Helper()
	rb, err := Load("groupmax-serviceguard")
	if err != nil {
		t.Fatal(err)
	}
	inf := fmt.Sprintf("[groupmax-serviceguard]\nsetup = %s\nmail_server = %t\n[Nodes]\n"+
		"node1 = address=h1 user=root key=/k known_hosts=/kh\nnode2 = address=h2 user=root key=/k known_hosts=/kh\n", setup, mail)
	f, err := answers.Parse("install.inf", []byte(inf))
	if err != nil {
		t.Fatal(err)
	}
	v, err := valuesFrom(rb, f, "/", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]node.Node{"local": node.Local{}, "node1": node.Local{}, "node2": node.Local{}}
	steps, err := Build(rb, v, Options{StateDir: t.TempDir(), Nodes: nodes, Order: []string{"node1", "node2"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range steps {
		ids = append(ids, s.ID())
	}
	return ids
}

// Seed 002: "steps whose item ends in (M) are needed only when Mail Server is
// used", and the two paths (1) new set-up and (2) existing environment are
// one file: every (M) step of the chosen path appears exactly when
// mail_server is true, every other step of the path always, and no step of
// the other path ever.
func TestSeed002MailServerStepsAppearOnlyWithMailServer(t *testing.T) {
	rb, err := Load("groupmax-serviceguard")
	if err != nil {
		t.Fatal(err)
	}
	// Each spec step with its (M) mark and path, from the runbook itself;
	// the test pins a few by name too, so a lost (M) mark cannot pass.
	type spec struct {
		id   string
		mail bool
		path string
	}
	var specs []spec
	for _, s := range rb.Steps {
		path, _, _ := strings.Cut(s.ID, "/")
		specs = append(specs, spec{s.ID, strings.Contains(s.Title, "(M)"), path})
	}
	for _, must := range []string{"new/node2/install-mail", "new/node1/mhs-nadr-cfg", "new/cluster/enable-apstart", "new/console/mail-running",
		"existing/node2/install-mail", "existing/node1/mhs-nadr-cfg", "existing/console/mta", "existing/domain/mhs-nadr-cfg"} {
		if !slices.ContainsFunc(specs, func(s spec) bool { return s.id == must && s.mail }) {
			t.Errorf("%s is not marked (M) in the shipped runbook", must)
		}
	}
	for _, tc := range []struct {
		setup string
		mail  bool
	}{{"new", true}, {"new", false}, {"existing", true}, {"existing", false}} {
		t.Run(fmt.Sprintf("setup=%s mail_server=%t", tc.setup, tc.mail), func(t *testing.T) {
			ids := buildSeed002(t, tc.setup, tc.mail)
			has := func(id string) bool {
				return slices.ContainsFunc(ids, func(x string) bool { return x == id || strings.HasPrefix(x, id+"/node") })
			}
			n := 0
			for _, s := range specs {
				want := s.path == tc.setup && (!s.mail || tc.mail)
				if strings.Contains(s.id, "standby-ip") {
					want = false // only with a standby LAN answered
				}
				if got := has(s.id); got != want {
					t.Errorf("%s (mail step %t, path %s): in the run %t, want %t", s.id, s.mail, s.path, got, want)
				}
				if want && s.mail {
					n++
				}
			}
			if tc.mail && n < 6 {
				t.Errorf("only %d (M) steps in the run with Mail Server", n)
			}
		})
	}
}
