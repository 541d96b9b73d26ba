package schema

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"mswizard/fixtures/ldapd"
)

var shared389 = &ldapd.Shared{Kind: ldapd.DS389}

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares the plan's report (server version blanked: it carries a
// build date) with testdata/NAME.
func golden(t *testing.T, name string, p Plan) {
	t.Helper()
	p.Server = "SERVER"
	got := []byte(p.Report())
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("report differs from %s:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := shared389.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stop shared 389:", err)
		code = 1
	}
	os.Exit(code)
}

func dial(t *testing.T, s *ldapd.Server, dn, pw string) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatalf("dial %s: %v", s.URL, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetTimeout(30 * time.Second)
	if err := c.Bind(dn, pw); err != nil {
		t.Fatalf("bind %s: %v", dn, err)
	}
	return c
}

// subschema returns the server's definitions as "kind oid name" lines.
func subschema(t *testing.T, c Conn) map[string]bool {
	t.Helper()
	r, err := readRootDSE(c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(ldap.NewSearchRequest(r.subschema, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{AttributeType, ObjectClass}, nil))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, kind := range []string{AttributeType, ObjectClass} {
		for _, v := range res.Entries[0].GetAttributeValues(kind) {
			d, err := Parse(kind, v)
			if err != nil {
				d, _ = parseLenient(kind, v)
			}
			out[kind+" "+strings.ToLower(d.OID)+" "+d.Name()] = true
		}
	}
	return out
}

func diff(before, after map[string]bool) (added, removed []string) {
	for k := range after {
		if !before[k] {
			added = append(added, k)
		}
	}
	for k := range before {
		if !after[k] {
			removed = append(removed, k)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

func keys(defs []Def) []string {
	var out []string
	for _, d := range defs {
		out = append(out, d.Kind+" "+strings.ToLower(d.OID)+" "+d.Name())
	}
	sort.Strings(out)
	return out
}

func names(defs []Def) []string {
	var out []string
	for _, d := range defs {
		out = append(out, d.Name())
	}
	sort.Strings(out)
	return out
}

func needed(t *testing.T) []Def {
	t.Helper()
	defs, err := Needed()
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

// What a stock server lacks of the needed set.
var (
	missingOnOpenLDAP = []string{"groupOfMailEnhancedUniqueNames", "inetDomain", "inetDomainBaseDN", "inetDomainStatus",
		"inetUserStatus", "mailAccessDomain", "mailAutoReplyMode", "mailAutoReplyText", "mailDeliveryOption",
		"mailEnhancedUniqueMember", "mailForwardingAddress", "mailMessageStore", "mailProgramDeliveryInfo", "mailQuota",
		"netscapeMailServer"}
	missingOn389 = []string{"inetLocalMailRecipient", "mailLocalAddress"}
)

func TestOpenLDAPAddsExactlyTheMissingOnceAndCannotUndo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir()})
	c := dial(t, s, s.ConfigDN, s.ConfigPW)
	before := subschema(t, c)

	plan, err := Inspect(ctx, c, needed(t))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Flavour != FlavourOpenLDAP {
		t.Errorf("flavour %q, want %q", plan.Flavour, FlavourOpenLDAP)
	}
	if len(plan.Conflicts) > 0 {
		t.Fatalf("stock slapd has conflicts:\n%s", plan.Report())
	}
	if got := names(plan.Missing); strings.Join(got, ",") != strings.Join(missingOnOpenLDAP, ",") {
		t.Errorf("missing on stock slapd:\n got %v\nwant %v", got, missingOnOpenLDAP)
	}
	golden(t, "openldap-stock.txt", plan)
	if plan.Reversible || !strings.Contains(plan.Why, "unwilling") {
		t.Errorf("plan says reversible=%v (%s), want not reversible with the reason", plan.Reversible, plan.Why)
	}

	applied, err := Apply(ctx, c, plan)
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, plan.Report())
	}
	added, removed := diff(before, subschema(t, c))
	if want := keys(plan.Missing); strings.Join(added, "|") != strings.Join(want, "|") || len(removed) > 0 {
		t.Errorf("subschema changed by +%v -%v, want exactly +%v", added, removed, want)
	}
	if !strings.HasPrefix(applied.Entry, "cn=mswizard,") {
		t.Errorf("applied entry %q", applied.Entry)
	}

	again, err := Inspect(ctx, c, needed(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Missing) != 0 || len(again.Conflicts) != 0 || !strings.Contains(again.Report(), "nothing to add") {
		t.Errorf("second inspect:\n%s", again.Report())
	}
	second, err := Apply(ctx, c, again)
	if err != nil || second.Changed() {
		t.Errorf("second apply changed=%v err=%v, want no change", second.Changed(), err)
	}
	if stale, err := Apply(ctx, c, plan); err != nil || stale.Changed() {
		t.Errorf("the first plan applied again changed=%v err=%v, want no change", stale.Changed(), err)
	}

	if err := Undo(ctx, c, applied); !errors.Is(err, ErrIrreversible) {
		t.Errorf("undo on OpenLDAP: %v, want ErrIrreversible", err)
	}
}

func TestOpenLDAPPlantedOIDIsAConflictAndNothingChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir()})
	c := dial(t, s, s.ConfigDN, s.ConfigPW)
	// mailQuota's OID under another name.
	plant := ldap.NewAddRequest("cn=planted,cn=schema,cn=config", nil)
	plant.Attribute("objectClass", []string{"olcSchemaConfig"})
	plant.Attribute("cn", []string{"planted"})
	plant.Attribute("olcAttributeTypes", []string{"( 2.16.840.1.113730.3.1.21 NAME 'plantedQuota' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"})
	if err := c.Add(plant); err != nil {
		t.Fatal(err)
	}
	before := subschema(t, c)

	plan, err := Inspect(ctx, c, needed(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "openldap-conflict.txt", plan)
	report := plan.Report()
	if len(plan.Conflicts) != 1 || !strings.Contains(report, `"mailQuota"`) || !strings.Contains(report, `"plantedQuota"`) ||
		!strings.Contains(report, "2.16.840.1.113730.3.1.21") {
		t.Errorf("want one conflict naming mailQuota, plantedQuota and the OID:\n%s", report)
	}
	_, err = Apply(ctx, c, plan)
	var ce *ConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "nothing changed") {
		t.Errorf("apply with a conflict: %v, want a ConflictError", err)
	}
	if added, removed := diff(before, subschema(t, c)); len(added)+len(removed) > 0 {
		t.Errorf("apply with a conflict changed the schema: +%v -%v", added, removed)
	}
}

// Test389 runs in sequence on the package's one 389 server: add, no-op,
// undo, then a planted conflict.
func Test389AddsTheMissingOnceUndoesAndReportsConflicts(t *testing.T) {
	ctx := context.Background()
	s := shared389.Get(t)
	c := dial(t, s, s.RootDN, s.RootPW)
	before := subschema(t, c)

	plan, err := Inspect(ctx, c, needed(t))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Flavour != Flavour389 || !plan.Reversible {
		t.Errorf("flavour %q reversible %v, want 389 and reversible", plan.Flavour, plan.Reversible)
	}
	if len(plan.Conflicts) > 0 {
		t.Fatalf("stock 389 has conflicts:\n%s", plan.Report())
	}
	if got := names(plan.Missing); strings.Join(got, ",") != strings.Join(missingOn389, ",") {
		t.Errorf("missing on stock 389:\n got %v\nwant %v", got, missingOn389)
	}
	golden(t, "389-stock.txt", plan)
	if !strings.Contains(plan.Report(), "mailLocalAddress-oid") {
		t.Errorf("the plan does not say mailLocalAddress goes under its fallback OID:\n%s", plan.Report())
	}

	applied, err := Apply(ctx, c, plan)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	added, removed := diff(before, subschema(t, c))
	if want := keys(plan.Missing); strings.Join(added, "|") != strings.Join(want, "|") || len(removed) > 0 {
		t.Errorf("subschema changed by +%v -%v, want exactly +%v", added, removed, want)
	}
	// The added schema is usable: a mail recipient entry goes in.
	user := ldap.NewAddRequest("uid=schematest,o=siroe.com", nil)
	user.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson", "inetLocalMailRecipient"})
	user.Attribute("uid", []string{"schematest"})
	user.Attribute("cn", []string{"Schema Test"})
	user.Attribute("sn", []string{"Test"})
	user.Attribute("mailLocalAddress", []string{"a@siroe.com", "b@siroe.com"})
	if err := c.Add(user); err != nil {
		t.Errorf("add an inetLocalMailRecipient entry after apply: %v", err)
	} else if err := c.Del(ldap.NewDelRequest("uid=schematest,o=siroe.com", nil)); err != nil {
		t.Errorf("delete the test entry: %v", err)
	}
	for _, v := range append(applied.AttributeTypes, applied.ObjectClasses...) {
		if !strings.Contains(v, "X-ORIGIN 'mswizard'") {
			t.Errorf("added value without X-ORIGIN 'mswizard': %s", v)
		}
	}

	again, err := Inspect(ctx, c, needed(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Missing) != 0 || len(again.Conflicts) != 0 {
		t.Errorf("second inspect:\n%s", again.Report())
	}
	if second, err := Apply(ctx, c, again); err != nil || second.Changed() {
		t.Errorf("second apply changed=%v err=%v, want no change", second.Changed(), err)
	}
	if stale, err := Apply(ctx, c, plan); err != nil || stale.Changed() {
		t.Errorf("the first plan applied again changed=%v err=%v, want no change", stale.Changed(), err)
	}

	if err := Undo(ctx, c, applied); err != nil {
		t.Fatalf("undo: %v", err)
	}
	if added, removed := diff(before, subschema(t, c)); len(added)+len(removed) > 0 {
		t.Errorf("after undo the schema differs from before: +%v -%v", added, removed)
	}
	if err := Undo(ctx, c, applied); err != nil {
		t.Errorf("second undo: %v, want values already gone to be skipped", err)
	}

	// A planted mailLocalAddress under another OID.
	planted := "( 1.3.6.1.4.1.99999.1 NAME 'mailLocalAddress' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 X-ORIGIN 'planted' )"
	m := ldap.NewModifyRequest("cn=schema", nil)
	m.Add(AttributeType, []string{planted})
	if err := c.Modify(m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m := ldap.NewModifyRequest("cn=schema", nil)
		m.Delete(AttributeType, []string{planted})
		if err := c.Modify(m); err != nil {
			t.Errorf("remove planted definition: %v", err)
		}
	})
	withPlant := subschema(t, c)
	plan, err = Inspect(ctx, c, needed(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "389-conflict.txt", plan)
	if len(plan.Conflicts) != 1 || !strings.Contains(plan.Report(), "1.3.6.1.4.1.99999.1") {
		t.Errorf("want one conflict naming the planted OID:\n%s", plan.Report())
	}
	var ce *ConflictError
	if _, err := Apply(ctx, c, plan); !errors.As(err, &ce) {
		t.Errorf("apply with a conflict: %v, want a ConflictError", err)
	}
	if added, removed := diff(withPlant, subschema(t, c)); len(added)+len(removed) > 0 {
		t.Errorf("apply with a conflict changed the schema: +%v -%v", added, removed)
	}
}
