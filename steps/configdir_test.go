package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"mswizard/fixtures/ldapd"
	"mswizard/ldif"
	"mswizard/ldif/export"
	"mswizard/wizard"
	"mswizard/wizard/answers"
)

// dirConfig is an answers file for a host whose directories live on s.
func dirConfig(t *testing.T, s *ldapd.Server, general []string, wiz ...string) *Config {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(s.RootPW), 0o600); err != nil {
		t.Fatal(err)
	}
	body := "[General]\nFullMachineName = budgie.siroe.com\nAdminDomain = siroe.com\nServerRoot = /usr/iplanet/server5\n" +
		"UserDirectoryLdapURL = " + s.URL + "/o=siroe.com\nUserDirectoryAdminID = cn=Directory Manager\nUserDirectoryAdminPwdFile = " + pw + "\n" +
		strings.Join(general, "\n") + "\n\n[Wizard]\nStateDir = " + filepath.Join(dir, "state") + "\nBackupDir = " + filepath.Join(dir, "backups") +
		"\nInstance = budgie\nInstaller = /cdrom/setup\n" + strings.Join(wiz, "\n") + "\n"
	p := filepath.Join(dir, "install.inf")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := answers.Load(p, answers.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return NewConfig(a, "")
}

var budgie = ldapd.NetscapeRoot{Domain: "siroe.com", Host: "budgie.siroe.com", ServerRoot: "/usr/iplanet/server5", Instance: "budgie"}

// testEnv points c at the test directory (steps get it from their config) and
// returns an Env for its state directory.
func testEnv(c *Config, s *ldapd.Server) *wizard.Env {
	c.Directory = urlDialer{s.URL, s.RootDN, s.RootPW}
	return (&wizard.Env{StateDir: c.StateDir,
		Now: func() time.Time { return time.Date(2002, 3, 4, 5, 6, 7, 0, time.UTC) }}).Nop()
}

// runActions runs a step's actions in order and returns their receipts.
func runActions(t *testing.T, step string, as []wizard.Action) []wizard.Receipt {
	t.Helper()
	var rs []wizard.Receipt
	for i, a := range as {
		r := wizard.Receipt{Step: step, Action: i, Summary: a.Summary}
		if err := a.Do(context.Background(), &r); err != nil {
			t.Fatalf("%s action %d (%s): %v", step, i, a.Summary, err)
		}
		rs = append(rs, r)
	}
	return rs
}

func probeFindings(t *testing.T, st wizard.Step, env *wizard.Env) []string {
	t.Helper()
	fs, err := wizard.Describe(st).Preflight(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.ID+" "+string(f.Severity)+" "+f.Message)
	}
	return ids
}

// snapshotTree reads the whole configuration directory as DN -> entry text.
func snapshotTree(t *testing.T, s *ldapd.Server) map[string]string {
	t.Helper()
	c, err := export.Dial(context.Background(), s.URL, export.Bind{DN: s.RootDN, Password: export.Secret(s.RootPW)}, export.TLS{}, export.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := export.Export(context.Background(), c, export.Spec{Name: "snap", Base: ldapd.NetscapeRootSuffix, File: "snap.ldif"}, t.TempDir(), export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	es, err := readLDIF(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i := range es {
		out[normDN(es[i].DN)] = fmt.Sprint(attrMap(&es[i]))
	}
	return out
}

// TestConfigDirectoryRoundTrip: the configuration directory is probed and
// exported; what an installer does to this server root's part (an SIE
// changed, an entry added, one deleted) is put back by the undo, whose plan
// shows each change; changes to other servers' entries (another server root
// on this host, another host, the domain's global preferences) are reported
// and left exactly as they are.
func TestConfigDirectoryRoundTrip(t *testing.T) {
	t.Parallel()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), ConfigDirectory: &budgie})
	c := dirConfig(t, s, []string{"ConfigDirectoryLdapURL = " + s.URL + "/o=NetscapeRoot", "ConfigDirectoryAdminID = admin",
		"ConfigDirectoryAdminPwd = " + s.RootPW})
	env := testEnv(c, s)

	if ids := probeFindings(t, ConfigDirectoryProbe(c), env); len(ids) != 1 || !strings.HasPrefix(ids[0], FindingConfigDirOK) ||
		!strings.Contains(ids[0], ldapd.NetscapeRootAdminDN("admin")) {
		t.Fatalf("probe: %v, want %s bound as the configuration administrator", ids, FindingConfigDirOK)
	}
	st := ConfigExport(c)
	as, err := st.Plan(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	rs := runActions(t, st.ID(), as)
	var d configExportData
	if err := rs[0].DataInto(&d); err != nil {
		t.Fatal(err)
	}
	group := normDN(budgie.ServerGroupDN(budgie.Host, 0))
	if !slices.Equal(d.Roots, []string{group}) || d.Entries < 20 || !strings.Contains(rs[0].Note, "the server's own count agrees") {
		t.Fatalf("export: roots %v, %d entries, note %q; want this server root's group only", d.Roots, d.Entries, rs[0].Note)
	}
	before := snapshotTree(t, s)

	// The installer stand-in: what setup -k does to this server root's part,
	// and changes by others meanwhile.
	conn, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(s.RootDN, s.RootPW); err != nil {
		t.Fatal(err)
	}
	modify := func(dn, attr, v string) {
		m := ldap.NewModifyRequest(dn, nil)
		m.Replace(attr, []string{v})
		if err := conn.Modify(m); err != nil {
			t.Fatal(err)
		}
	}
	sie := budgie.MessagingSIE(budgie.Host, 0, "budgie")
	modify(sie, "serverVersionNumber", "5.2")
	modify("cn=iPlanet Messaging Suite,"+budgie.ServerGroupDN(budgie.Host, 0), "nsProductVersion", "5.2")
	added := "cn=msg-webmail,cn=iPlanet Messaging Suite," + budgie.ServerGroupDN(budgie.Host, 0)
	add := ldap.NewAddRequest(added, nil)
	add.Attribute("objectClass", []string{"top", "netscapeServer"})
	add.Attribute("cn", []string{"msg-webmail"})
	add.Attribute("serverRoot", []string{budgie.ServerRoot})
	if err := conn.Add(add); err != nil {
		t.Fatal(err)
	}
	deleted := "cn=admin-serv-budgie,cn=iPlanet Administration Server," + budgie.ServerGroupDN(budgie.Host, 0)
	if err := conn.Del(ldap.NewDelRequest(deleted, nil)); err != nil {
		t.Fatal(err)
	}
	others := []string{budgie.MessagingSIE(budgie.Host, 1, "budgie"), budgie.MessagingSIE(ldapd.OtherHost, 0, "budgie")}
	for _, o := range others {
		modify(o, "serverVersionNumber", "9.9")
	}
	prefs := "cn=Messaging Server,ou=Global Preferences,ou=siroe.com,o=NetscapeRoot"
	modify(prefs, "nsPreference", "changed by another administrator")
	changedOutside := snapshotTree(t, s)

	undo, err := st.Undo(context.Background(), env, rs)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for _, a := range undo {
		plan = append(plan, a.Summary)
	}
	text := strings.Join(plan, "\n")
	t.Log("backout plan:\n" + text)
	for _, want := range []string{
		"delete " + added + " (added since the export)",
		"add back " + deleted + " (deleted since the export",
		"put back " + sie + `: serverVersionNumber ["5.2"] -> ["5.1"]`,
		`nsProductVersion ["5.2"] -> ["5.1"]`,
		"3 change(s) outside it are left as they are",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the backout plan does not show %q:\n%s", want, text)
		}
	}
	if len(undo) != 5 {
		t.Errorf("%d undo actions, want 4 changes and a check:\n%s", len(undo), text)
	}
	urs := runActions(t, st.ID(), undo)
	for _, r := range urs[:len(urs)-1] {
		if r.Note == "" || len(r.Data) == 0 {
			t.Errorf("undo action %q journaled no change", r.Summary)
		}
	}
	after := snapshotTree(t, s)
	for dn, v := range before {
		if under(dn, group) && after[dn] != v {
			t.Errorf("%s not put back:\n got  %s\n want %s", dn, after[dn], v)
		}
	}
	if _, ok := after[normDN(added)]; ok {
		t.Errorf("%s still there", added)
	}
	for _, o := range append(others, prefs) {
		if after[normDN(o)] != changedOutside[normDN(o)] || after[normDN(o)] == before[normDN(o)] {
			t.Errorf("another server's entry %s was touched:\n now    %s\n before %s", o, after[normDN(o)], changedOutside[normDN(o)])
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d entries after the backout, %d before the installer", len(after), len(before))
	}
	// A second undo finds nothing to do.
	again, err := st.Undo(context.Background(), env, rs)
	if err != nil || len(again) != 1 || !strings.Contains(again[0].Summary, "nothing changed there since the export") {
		t.Errorf("a second undo plans %d actions (%v)", len(again), err)
	}
}

// TestConfigDirectoryProbeFindings: a missing URL and a directory without
// o=NetscapeRoot (or not answering) stop the run before anything changes.
func TestConfigDirectoryProbeFindings(t *testing.T) {
	t.Parallel()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir()})
	for _, tc := range []struct {
		name    string
		general []string
		want    string
	}{
		{"no ConfigDirectoryLdapURL is an inhibitor", nil, FindingConfigDirURL + " inhibitor"},
		{"a directory without o=NetscapeRoot is an inhibitor", []string{"ConfigDirectoryLdapURL = " + s.URL + "/o=NetscapeRoot"}, FindingConfigDirUnreachable + " inhibitor"},
		{"a directory that does not answer is an inhibitor", []string{"ConfigDirectoryLdapURL = ldap://127.0.0.1:1/o=NetscapeRoot"}, FindingConfigDirUnreachable + " inhibitor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dirConfig(t, s, tc.general)
			ids := probeFindings(t, ConfigDirectoryProbe(c), testEnv(c, s))
			if len(ids) != 1 || !strings.HasPrefix(ids[0], tc.want) {
				t.Errorf("findings %v, want %s", ids, tc.want)
			}
			// Without a waiver the export cannot run; waived, it records
			// that nothing was exported and its undo has nothing to do.
			id := strings.Fields(tc.want)[0]
			st := ConfigExport(c)
			if as, err := st.Plan(context.Background(), testEnv(c, s)); err == nil {
				r := wizard.Receipt{}
				if err := as[0].Do(context.Background(), &r); err == nil {
					t.Errorf("config export ran against an unusable configuration directory: %q", r.Note)
				}
			}
			c = dirConfig(t, s, tc.general, "Waive = "+id+" no configuration directory on this test host")
			env := testEnv(c, s)
			as, err := ConfigExport(c).Plan(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			rs := runActions(t, "directory/config-export", as)
			if !strings.Contains(rs[0].Note, "not exported: "+id+" waived") {
				t.Errorf("waived export note %q", rs[0].Note)
			}
			if undo, err := ConfigExport(c).Undo(context.Background(), env, rs); err != nil || len(undo) != 0 {
				t.Errorf("undo of a waived export: %d actions, %v", len(undo), err)
			}
		})
	}
}

// TestEmptyExportFailsWithItsFindingID: an export of no entries fails naming
// LDIF-EMPTY-NAME and leaves no file; waived, it succeeds and says so.
func TestEmptyExportFailsWithItsFindingID(t *testing.T) {
	t.Parallel()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir()})
	line := "Export = ug | o=siroe.com | sub | (objectclass=inetlocalmailrecipient) | * | DATE.ug.ldif"
	c := dirConfig(t, s, nil, line)
	env := testEnv(c, s)
	as, err := DirectoryExport(c).Plan(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	r := wizard.Receipt{Step: "directory/export"}
	err = as[0].Do(context.Background(), &r)
	if err == nil || !strings.Contains(err.Error(), "[LDIF-EMPTY-UG]") || !strings.Contains(err.Error(), "Waive = LDIF-EMPTY-UG") {
		t.Fatalf("empty export: %v, want a failure naming LDIF-EMPTY-UG", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(c.StateDir, "ldif")); len(ents) != 0 {
		t.Errorf("a failed empty export left %v", ents)
	}

	c = dirConfig(t, s, nil, line, "Waive = LDIF-EMPTY-UG no mail users on this test host")
	env = testEnv(c, s)
	if as, err = DirectoryExport(c).Plan(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	r = wizard.Receipt{Step: "directory/export"}
	if err := as[0].Do(context.Background(), &r); err != nil || !strings.Contains(r.Note, "0 entries") || !strings.Contains(r.Note, "waived (LDIF-EMPTY-UG: no mail users") {
		t.Fatalf("waived empty export: %v, note %q", err, r.Note)
	}
	f, err := os.Open(r.Files[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if es, err := ldif.ReadEntries(f, r.Files[0].Path, ldif.ReaderOptions{}); err != nil || len(es) != 0 {
		t.Errorf("waived export holds %d entries (%v)", len(es), err)
	}
}

// TestServerPartRule pins the rule of configdir.go: this server root's admin
// group on this host, and an SIE of this server root outside any such group;
// never another host, another server root, or an escaped comma's look-alike.
func TestServerPartRule(t *testing.T) {
	e := func(dn string, kv ...string) ldif.Entry {
		en := ldif.Entry{DN: dn}
		for i := 0; i+1 < len(kv); i += 2 {
			en.Attributes = append(en.Attributes, ldif.Attribute{Name: kv[i], Values: []string{kv[i+1]}})
		}
		return en
	}
	host := "cn=budgie.siroe.com, ou=siroe.com, o=NetscapeRoot"
	entries := []ldif.Entry{
		e("cn=Server Group, "+host, "nsConfigRoot", "/usr/iplanet/server5/"),
		e("cn=Server Group (1), "+host, "nsConfigRoot", "/usr/iplanet/other"),
		e("cn=msg-budgie, cn=iPlanet Messaging Suite, cn=Server Group (1), "+host, "serverRoot", "/usr/iplanet/other"),
		e("cn=slapd-budgie, cn=Loose, "+host, "serverRoot", "/usr/iplanet/server5"),
		e("cn=Server Group, cn=other.siroe.com, ou=siroe.com, o=NetscapeRoot", "nsConfigRoot", "/usr/iplanet/server5"),
		e(`cn=Server Group\, budgie.siroe.com, ou=siroe.com, o=NetscapeRoot`, "nsConfigRoot", "/usr/iplanet/server5"),
		e("cn=Deep, cn=Server Group, "+host, "nsConfigRoot", "/usr/iplanet/server5"),
	}
	got := serverPart(entries, "o=NetscapeRoot", "siroe.com", "budgie.siroe.com", "/usr/iplanet/server5")
	want := []string{normDN("cn=Server Group, " + host), normDN("cn=slapd-budgie, cn=Loose, " + host)}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("this server's part:\n got  %q\n want %q", got, want)
	}
}
