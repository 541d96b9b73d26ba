package export

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"mswizard/fixtures/ldapd"
)

// backupDN is a non-root account the tests bind as, with a cleartext
// password slapd checks on bind.
const (
	backupDN = "cn=backup,o=siroe.com"
	backupPW = "Backup-Passw0rd"
)

// hideUserPassword gives o=siroe.com an access control under which no one but
// the rootDN reads userPassword (anonymous may still bind with it), and adds
// backupDN: a non-root bind whose export would silently lack every password
// hash (FAULTS.md L4).
func hideUserPassword(t *testing.T, s *ldapd.Server) {
	t.Helper()
	cfg, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if err := cfg.Bind("cn=config", s.RootPW); err != nil {
		t.Fatalf("bind cn=config: %v", err)
	}
	// Database {0} is the frontend's config, {1} the rootDN's, {2} o=siroe.com
	// (fixtures/ldapd/openldap.go).
	m := ldap.NewModifyRequest("olcDatabase={2}mdb,cn=config", nil)
	// The rootDN is a bind-only database's, not this one's: it is named.
	m.Add("olcAccess", []string{`{0}to attrs=userPassword by dn.exact="` + s.RootDN + `" manage by anonymous auth by * none`})
	if err := cfg.Modify(m); err != nil {
		t.Fatalf("add the access control: %v", err)
	}
	root := dialRoot(t, s)
	a := ldap.NewAddRequest(backupDN, nil)
	a.Attribute("objectClass", []string{"person"})
	a.Attribute("cn", []string{"backup"})
	a.Attribute("sn", []string{"backup"})
	a.Attribute("userPassword", []string{backupPW})
	if err := root.Add(a); err != nil {
		t.Fatalf("add %s: %v", backupDN, err)
	}
}

// An access control that hides userPassword from a non-root bind makes the
// export fail naming the attribute, never a silent thin export; the rootDN,
// which reads it, exports the same tree.
func TestAnExportThatAccessControlThinsFailsTheRequiredAttributeCheck(t *testing.T) {
	t.Parallel()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: writeSeed(t, 50)})
	hideUserPassword(t, s)
	opts := Options{Now: func() time.Time { return fixed }, Required: []string{"userPassword"}}
	for _, golib := range []bool{false, true} {
		opts.GoLDAPDecoder = golib
		c, err := Dial(context.Background(), s.URL, Bind{DN: backupDN, Password: Secret(backupPW)}, TLS{}, DialOptions{Timeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("bind as %s: %v", backupDN, err)
		}
		dir := t.TempDir()
		_, err = Export(context.Background(), c, siroeAll, dir, opts)
		c.Close()
		if err == nil || !strings.Contains(err.Error(), "carries userPassword") || !strings.Contains(err.Error(), "access control") {
			t.Fatalf("go-ldap decoder %v: export as %s: %v, want the required-attribute check to fail", golib, backupDN, err)
		}
		assertNoFiles(t, dir)
		res, err := Export(context.Background(), dialRoot(t, s), siroeAll, t.TempDir(), opts)
		if err != nil || res.Entries < 50 {
			t.Fatalf("go-ldap decoder %v: export as the rootDN: %+v %v", golib, res, err)
		}
	}
}

// Subentries (RFC 3672; a password policy on OpenLDAP) are left out of an
// export by default — a plain search does not return them — and exported,
// and counted, with Options.Subentries.
func TestSubentriesAreExportedOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: writeSeed(t, 20)})
	root := dialRoot(t, s)
	const sub = "cn=policy,o=siroe.com"
	a := ldap.NewAddRequest(sub, nil)
	a.Attribute("objectClass", []string{"subentry"})
	a.Attribute("cn", []string{"policy"})
	a.Attribute("subtreeSpecification", []string{"{}"})
	if err := root.Add(a); err != nil {
		t.Fatalf("add the subentry: %v", err)
	}
	for _, golib := range []bool{false, true} {
		opts := Options{Now: func() time.Time { return fixed }, GoLDAPDecoder: golib}
		plain, err := Export(context.Background(), root, siroeAll, t.TempDir(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if holds(t, plain.Path, sub) || plain.Subentries != 0 {
			t.Errorf("go-ldap decoder %v: the default export holds the subentry (%d subentries)", golib, plain.Subentries)
		}
		opts.Subentries = true
		with, err := Export(context.Background(), root, siroeAll, t.TempDir(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if !holds(t, with.Path, sub) || with.Subentries != 1 || with.Entries != plain.Entries+1 {
			t.Errorf("go-ldap decoder %v: with Subentries: %d entries (%d subentries), want %d and the subentry", golib, with.Entries, with.Subentries, plain.Entries+1)
		}
		n, err := Count(context.Background(), root, siroeAll, opts)
		if err != nil || n != with.Entries {
			t.Errorf("go-ldap decoder %v: Count with Subentries: %d %v, want %d", golib, n, err, with.Entries)
		}
	}
}

func holds(t *testing.T, path, dn string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(strings.ToLower(string(b)), "dn: "+strings.ToLower(dn)+"\n")
}
