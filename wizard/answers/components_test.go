package answers

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTheComponentKeysAreCheckedTogether(t *testing.T) {
	for _, tc := range []struct {
		rule, extra, err string
	}{
		{"DelegatedAdminRoot needs the instance it runs in", "WebServerRoot = /w\nDelegatedAdminRoot = /nda\n", "DelegatedAdminInstance must name"},
		{"DelegatedAdminInstance needs the web server root that holds it", "DelegatedAdminInstance = https-da\n", "set WebServerRoot"},
		{"a Confirmed line names one step", "Confirmed = post/web-server-upgrade post/sc3-agent\n", "name one operator action"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			_, err := Load(write(t, "install.inf", good+tc.extra, 0o600), LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Load = %v, want a problem containing %q", err, tc.err)
			}
		})
	}
}

func TestTheComponentKeysAreRead(t *testing.T) {
	p := write(t, "install.inf", good+"WebServerRoot = /usr/iplanet/servers\nDelegatedAdminRoot = nda\nDelegatedAdminInstance = https-da\n"+
		"ClusterNodes = node1  node2\nConfirmed = post/web-server-upgrade\nConfirmed = post/sc3-agent\n", 0o600)
	a, err := Load(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.WebServerRoot != "/usr/iplanet/servers" || a.DelegatedAdminInstance != "https-da" {
		t.Errorf("WebServerRoot %q, DelegatedAdminInstance %q", a.WebServerRoot, a.DelegatedAdminInstance)
	}
	if want := filepath.Join(filepath.Dir(p), "nda"); a.DelegatedAdminRoot != want {
		t.Errorf("DelegatedAdminRoot %q, want %q (relative to the answers file)", a.DelegatedAdminRoot, want)
	}
	if !slices.Equal(a.ClusterNodes, []string{"node1", "node2"}) {
		t.Errorf("ClusterNodes %q", a.ClusterNodes)
	}
	if !slices.Equal(a.Confirmed, []string{"post/web-server-upgrade", "post/sc3-agent"}) {
		t.Errorf("Confirmed %q", a.Confirmed)
	}
}

// A Confirmed line is a decision the run asks for while it is in progress:
// adding one does not change the answers the journal is pinned to.
func TestConfirmedLinesAreNotPinned(t *testing.T) {
	a, err := Load(write(t, "install.inf", good, 0o600), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(write(t, "install.inf", good+"Confirmed = post/web-server-upgrade\n", 0o600), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash() != b.Hash() {
		t.Error("a Confirmed line changed the answers' hash")
	}
}
