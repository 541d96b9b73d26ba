package steps

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"mswizard/fixtures/ldapd"
	"mswizard/ldif/export"
	"mswizard/wizard"
)

// urlDialer dials a test directory bound as dn, as the binary's dialer does.
type urlDialer struct{ url, dn, pw string }

func (d urlDialer) DialLDAP(ctx context.Context) (ldap.Client, error) {
	return export.Dial(ctx, d.url, export.Bind{DN: d.dn, Password: export.Secret(d.pw)}, export.TLS{}, export.DialOptions{})
}

// On OpenLDAP the schema is added once through cn=config, the plan says up
// front that it cannot be undone, a second look finds nothing to add, and the
// undo only leaves a note.
func TestSchemaStepAddsOnceOnOpenLDAPAndSaysUndoIsImpossible(t *testing.T) {
	t.Parallel()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir()})
	pwFile := filepath.Join(t.TempDir(), "config.pw")
	if err := os.WriteFile(pwFile, []byte(s.ConfigPW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := testConfig(t, "SchemaAdminID = "+s.ConfigDN, "SchemaAdminPwdFile = "+pwFile)
	c.Directory = urlDialer{s.URL, s.RootDN, s.RootPW}
	env := (&wizard.Env{}).Nop()
	step := DirectorySchema(c)

	if done, why, err := step.Check(t.Context(), env); err != nil || done {
		t.Fatalf("check on a stock slapd: done=%v (%s) %v, want missing definitions", done, why, err)
	}
	as, err := step.Plan(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || !strings.Contains(as[0].Summary, "attribute type") || !strings.Contains(as[0].Summary, "(2.16.840.1.113730.") {
		t.Fatalf("plan does not list the definitions with their OIDs: %+v", as)
	}
	if as[0].Irreversible == "" {
		t.Error("the plan does not say that OpenLDAP cannot take the schema back")
	}
	rs, err := runStep(t, step, env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rs[0].Note, "added") {
		t.Errorf("receipt note %q", rs[0].Note)
	}
	again := PostSchema(c)
	if done, why, err := again.Check(t.Context(), env); err != nil || !done || !strings.Contains(why, "nothing to add") {
		t.Errorf("post/schema after directory/schema: done=%v (%s) %v, want done: nothing to add", done, why, err)
	}
	undo, err := step.Undo(t.Context(), env, rs)
	if err != nil || len(undo) != 1 {
		t.Fatalf("undo: %v %+v", err, undo)
	}
	r := wizard.Receipt{}
	if err := undo[0].Do(t.Context(), &r); err != nil || !strings.Contains(r.Note, "cannot remove schema on OpenLDAP") {
		t.Errorf("undo on OpenLDAP: %v, note %q", err, r.Note)
	}
}

// Without a cn=config bind the OpenLDAP plan refuses up front, naming the keys.
func TestSchemaStepOnOpenLDAPNeedsTheSchemaAdmin(t *testing.T) {
	t.Parallel()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir()})
	c := testConfig(t)
	c.Directory = urlDialer{s.URL, s.RootDN, s.RootPW}
	env := (&wizard.Env{}).Nop()
	_, err := DirectorySchema(c).Plan(t.Context(), env)
	if err == nil || !strings.Contains(err.Error(), "SchemaAdminID") {
		t.Errorf("plan without SchemaAdminID: %v", err)
	}
}
