package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"mswizard/fixtures/ldapd"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// TestConfigDirectoryUpgradeAndBackout: through the binary, the upgrade's
// installer registers the new version in o=NetscapeRoot; the backout plan
// shows the entries it will put back, the backout puts them back and journals
// each, and an entry of another server root changed meanwhile stays as it is.
func TestConfigDirectoryUpgradeAndBackout(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{})
	n := ldapd.NetscapeRoot{Domain: "siroe.com", Host: h.w.Host, ServerRoot: h.w.ServerRoot(), Instance: h.w.Instance}
	sie := n.MessagingSIE(h.w.Host, 0, h.w.Instance)
	other := n.MessagingSIE(h.w.Host, 1, h.w.Instance)
	conn, err := ldap.DialURL(h.LDAP.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(h.LDAP.RootDN, h.LDAP.RootPW); err != nil {
		t.Fatal(err)
	}
	version := func(dn string) string {
		t.Helper()
		res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"serverVersionNumber"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("%s: %v", dn, err)
		}
		return res.Entries[0].GetAttributeValue("serverVersionNumber")
	}
	if v := version(sie); v != "5.1" {
		t.Fatalf("before the upgrade %s is at %q", sie, v)
	}
	if out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("upgrade exit %d:\n%s", code, out)
	}
	if v := version(sie); v != "5.2" {
		t.Fatalf("the installer left %s at %q", sie, v)
	}
	m := ldap.NewModifyRequest(other, nil)
	m.Replace("serverVersionNumber", []string{"9.9"})
	if err := conn.Modify(m); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, h.bin, "backout", "--answers", h.inf, "--dry-run")
	if code != 0 {
		t.Fatalf("backout --dry-run exit %d:\n%s", code, out)
	}
	for _, want := range []string{`put back ` + sie + `: serverVersionNumber ["5.2"] -> ["5.1"]`, other + " changed since the export"} {
		if !strings.Contains(out, want) {
			t.Errorf("the backout plan does not show %q:\n%s", want, out)
		}
	}
	if out, code := run(t, h.bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("backout exit %d:\n%s", code, out)
	}
	if v := version(sie); v != "5.1" {
		t.Errorf("after the backout %s is at %q, want 5.1", sie, v)
	}
	if v := version(other); v != "9.9" {
		t.Errorf("the backout touched another server root's %s: %q", other, v)
	}
	recs, err := journal.Read(h.w.StateDir())
	if err != nil {
		t.Fatal(err)
	}
	journaled := false
	for _, r := range recs {
		var rc wizard.Receipt
		if r.Kind == journal.KindUndoDone && r.Step == "directory/config-export" && json.Unmarshal(r.Receipt, &rc) == nil &&
			strings.Contains(rc.Note, "put back "+sie) && len(rc.Data) > 0 {
			journaled = true
		}
	}
	if !journaled {
		t.Error("the journal holds no record of the configuration directory change put back")
	}
}
