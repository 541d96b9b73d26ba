package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/steps/host"
	"mswizard/wizard"
)

func TestThePreflightChecksTheInstanceAgainstTheHostsOwnDiscovery(t *testing.T) {
	cases := []struct {
		name     string
		listed   bool     // nsserver.cfg lists the server root
		noCfg    bool     // there is no nsserver.cfg
		dirs     []string // msg-* directories in the server root
		want     map[string]wizard.Severity
		mentions []string
	}{
		{"the listed root with the answers' one instance: nothing to say", true, false, []string{"msg-budgie"}, nil, nil},
		{"a root nsserver.cfg does not list: a warning with the fact row", false, false, []string{"msg-budgie"},
			map[string]wizard.Severity{FindingRootNotListed: wizard.Warning}, []string{"not listed in", "F-LAYOUT-002", "/srv/other"}},
		{"no nsserver.cfg: a warning, never a pass", true, true, []string{"msg-budgie"},
			map[string]wizard.Severity{FindingRootNotListed: wizard.Warning}, []string{"cannot read the node's list", "F-LAYOUT-002"}},
		{"another instance than the answers name: an inhibitor naming it", true, false, []string{"msg-kestrel"},
			map[string]wizard.Severity{FindingInstance: wizard.Inhibitor}, []string{"msg-kestrel", "Instance = budgie"}},
		{"two instances in one server root: an inhibitor naming both", true, false, []string{"msg-budgie", "msg-kestrel"},
			map[string]wizard.Severity{FindingInstance: wizard.Inhibitor}, []string{"msg-budgie, msg-kestrel", "one per server root"}},
		{"no instance at all: an inhibitor", true, false, nil,
			map[string]wizard.Severity{FindingInstance: wizard.Inhibitor}, []string{"holds no msg-INSTANCE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "server-root")
			for _, d := range append([]string{"admin-serv"}, tc.dirs...) {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cfg := filepath.Join(dir, "nsserver.cfg")
			if !tc.noCfg {
				list := "/srv/other\n"
				if tc.listed {
					list += root + "/\n"
				}
				if err := os.WriteFile(cfg, []byte(list), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := &Config{Host: host.Layout{Root: root, Instance: "budgie"}, NSServerCfg: cfg}
			fs := c.instanceFindings()
			got := map[string]wizard.Severity{}
			var text []string
			for _, f := range fs {
				got[f.ID] = f.Severity
				text = append(text, f.Message, f.Remediation)
			}
			if len(got) != len(tc.want) || len(fs) != len(tc.want) {
				t.Fatalf("findings %+v, want %v", fs, tc.want)
			}
			for id, sev := range tc.want {
				if got[id] != sev {
					t.Errorf("%s: severity %v, want %v (%+v)", id, got[id], sev, fs)
				}
			}
			for _, m := range tc.mentions {
				if !strings.Contains(strings.Join(text, "\n"), m) {
					t.Errorf("findings do not mention %q: %+v", m, fs)
				}
			}
		})
	}
}
