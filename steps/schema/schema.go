// Package schema prepares a directory server's schema for Messaging Server
// 5.2, as ims_dssetup.pl did: it adds the attribute types and object classes
// the new version needs and the server lacks, and nothing else.
//
// Inspect reads the server's subschema (RFC 4512 §4.2: the root DSE's
// subschemaSubentry, then its attributeTypes and objectClasses) and sorts
// each needed definition into present, missing or conflicting; Apply adds
// the missing ones, Undo removes what Apply added where the server allows.
//
// Two flavours of server are known, told apart by the root DSE:
//   - OpenLDAP (configContext: cn=config): schema is added as a new entry
//     cn=mswizard,cn=schema,cn=config (objectClass olcSchemaConfig,
//     slapd-config(5)), which needs a bind as the config database's rootDN.
//     slapd 2.5 refuses to delete schema entries, so this is not reversible.
//   - 389 / Netscape / iPlanet / Sun Directory Server (vendorName): values are
//     added to attributeTypes/objectClasses of cn=schema with X-ORIGIN
//     'mswizard' (the server keeps them in 99user.ldif), and deleting the
//     same values undoes it.
package schema

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Conn is the part of *ldap.Conn this package uses.
type Conn interface {
	Search(*ldap.SearchRequest) (*ldap.SearchResult, error)
	Modify(*ldap.ModifyRequest) error
	Add(*ldap.AddRequest) error
}

// Server flavours.
const (
	FlavourOpenLDAP = "openldap"
	Flavour389      = "389" // 389 and its Netscape/iPlanet/Sun ancestors
	FlavourUnknown  = "unknown"
)

// ErrIrreversible is returned by Undo when the server cannot take schema
// back.
var ErrIrreversible = errors.New("schema change cannot be undone on this server")

// Conflict is a needed definition the server defines differently.
type Conflict struct {
	Needed Def    `json:"needed"`
	Found  string `json:"found,omitempty"` // the server's definition, if one clashes
	Reason string `json:"reason"`
}

func (c Conflict) String() string {
	if c.Found == "" {
		return c.Reason
	}
	return c.Reason + "; server has: " + c.Found
}

// Plan says what Apply would do on one server.
type Plan struct {
	Server      string     `json:"server"`  // vendor and version from the root DSE
	Flavour     string     `json:"flavour"` // FlavourOpenLDAP, Flavour389 or FlavourUnknown
	SubschemaDN string     `json:"subschemaDN"`
	Missing     []Def      `json:"missing,omitempty"` // exactly as Apply adds them
	Present     []Def      `json:"present,omitempty"`
	Conflicts   []Conflict `json:"conflicts,omitempty"`
	Notes       []string   `json:"notes,omitempty"`
	Reversible  bool       `json:"reversible"`
	Why         string     `json:"why"` // why (not) reversible
}

// ConflictError is Apply's refusal: the server defines needed names or
// OIDs differently, and nothing was changed.
type ConflictError struct{ Conflicts []Conflict }

func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schema: %d conflicting definition(s), nothing changed:", len(e.Conflicts))
	for _, c := range e.Conflicts {
		b.WriteString("\n  - " + c.String())
	}
	return b.String()
}

// Report renders the plan for an operator, one line per fact.
func (p Plan) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "directory: %s (%s), subschema %s\n", p.Server, p.Flavour, p.SubschemaDN)
	if len(p.Conflicts) > 0 {
		fmt.Fprintf(&b, "CONFLICTS (%d), nothing will be changed:\n", len(p.Conflicts))
		for _, c := range p.Conflicts {
			b.WriteString("  - " + c.String() + "\n")
		}
	}
	switch {
	case len(p.Missing) == 0 && len(p.Conflicts) == 0:
		fmt.Fprintf(&b, "schema already complete: %d definitions present, nothing to add\n", len(p.Present))
	case len(p.Missing) == 0:
		fmt.Fprintf(&b, "%d definitions present, nothing else to add\n", len(p.Present))
	case len(p.Conflicts) > 0:
		fmt.Fprintf(&b, "once the conflicts are resolved, would add %d definitions (%d present):\n", len(p.Missing), len(p.Present))
		for _, d := range p.Missing {
			fmt.Fprintf(&b, "  + %s %s (%s)\n", d.Kind, d.Name(), d.OID)
		}
	default:
		fmt.Fprintf(&b, "add %d definitions (%d present):\n", len(p.Missing), len(p.Present))
		for _, d := range p.Missing {
			fmt.Fprintf(&b, "  + %s %s (%s)\n", d.Kind, d.Name(), d.OID)
		}
	}
	for _, n := range p.Notes {
		b.WriteString("note: " + n + "\n")
	}
	if p.Reversible {
		b.WriteString("reversible: " + p.Why + "\n")
	} else {
		b.WriteString("NOT reversible: " + p.Why + "\n")
	}
	return b.String()
}

// rootDSE holds what Inspect reads from the root DSE (RFC 4512 §5.1).
type rootDSE struct {
	subschema, configContext, vendorName, vendorVersion string
}

func readRootDSE(c Conn) (rootDSE, error) {
	res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 30, false,
		"(objectClass=*)", []string{"subschemaSubentry", "configContext", "vendorName", "vendorVersion"}, nil))
	if err != nil {
		return rootDSE{}, fmt.Errorf("schema: read root DSE: %w", err)
	}
	if len(res.Entries) != 1 {
		return rootDSE{}, fmt.Errorf("schema: read root DSE: %d entries", len(res.Entries))
	}
	e := res.Entries[0]
	return rootDSE{
		subschema:     e.GetAttributeValue("subschemaSubentry"),
		configContext: e.GetAttributeValue("configContext"),
		vendorName:    e.GetAttributeValue("vendorName"),
		vendorVersion: e.GetAttributeValue("vendorVersion"),
	}, nil
}

func (r rootDSE) flavour() string {
	if strings.EqualFold(r.configContext, "cn=config") {
		return FlavourOpenLDAP
	}
	v := strings.ToLower(r.vendorName + " " + r.vendorVersion)
	for _, s := range []string{"389", "netscape", "iplanet", "sun microsystems", "fedora", "red hat"} {
		if strings.Contains(v, s) {
			return Flavour389
		}
	}
	return FlavourUnknown
}

// serverSchema indexes the server's definitions by kind, lower-case name
// and OID.
type serverSchema struct {
	byName map[string]map[string]Def
	byOID  map[string]map[string]Def
}

func readSubschema(c Conn, dn string) (serverSchema, error) {
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 60, false,
		"(objectClass=*)", []string{AttributeType, ObjectClass}, nil))
	if err != nil {
		return serverSchema{}, fmt.Errorf("schema: read subschema %s: %w", dn, err)
	}
	if len(res.Entries) != 1 {
		return serverSchema{}, fmt.Errorf("schema: read subschema %s: %d entries", dn, len(res.Entries))
	}
	s := serverSchema{byName: map[string]map[string]Def{}, byOID: map[string]map[string]Def{}}
	for _, kind := range []string{AttributeType, ObjectClass} {
		s.byName[kind], s.byOID[kind] = map[string]Def{}, map[string]Def{}
		for _, v := range res.Entries[0].GetAttributeValues(kind) {
			d, err := Parse(kind, v)
			if err != nil {
				// Servers carry odd legacy values; OID and NAME suffice here.
				if d, err = parseLenient(kind, v); err != nil {
					continue
				}
			}
			s.byOID[kind][strings.ToLower(d.OID)] = d
			for _, n := range d.Names {
				s.byName[kind][strings.ToLower(n)] = d
			}
		}
	}
	return s, nil
}

// parseLenient takes only the OID and NAMEs of a description.
func parseLenient(kind, v string) (Def, error) {
	toks, err := lex(v)
	if err != nil || len(toks) < 2 || toks[0].kind != tLParen || toks[1].kind != tWord {
		return Def{}, fmt.Errorf("schema: unparseable %s %q", kind, abbrev(v))
	}
	d := Def{Kind: kind, OID: toks[1].text}
	for i := 2; i < len(toks); i++ {
		if toks[i].kind == tWord && strings.EqualFold(toks[i].text, "NAME") {
			p := &parser{toks: toks, i: i + 1}
			d.Names, _ = p.qdstrings()
			break
		}
	}
	return d, nil
}

func numericOID(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

// Inspect reads the server's root DSE and subschema and classifies each of
// needed (attribute types before object classes): present when the server
// has the NAME under the same OID (or one of X-MSWIZARD-ALSO-OID/FALLBACK-OID);
// conflicting when it has the NAME under another OID, or the OID under
// another NAME and no usable fallback; missing otherwise. A missing object
// class whose attributes or superclass are neither on the server nor being
// added is a conflict too. Inspect changes nothing.
func Inspect(ctx context.Context, conn Conn, needed []Def) (Plan, error) {
	if err := ctx.Err(); err != nil {
		return Plan{}, err
	}
	r, err := readRootDSE(conn)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Flavour: r.flavour(), SubschemaDN: r.subschema}
	p.Server = strings.TrimSpace(r.vendorName + " " + r.vendorVersion)
	if p.Server == "" && p.Flavour == FlavourOpenLDAP {
		p.Server = "OpenLDAP (configContext cn=config)"
	}
	if p.SubschemaDN == "" {
		return p, errors.New("schema: root DSE names no subschemaSubentry")
	}
	if err := ctx.Err(); err != nil {
		return p, err
	}
	srv, err := readSubschema(conn, p.SubschemaDN)
	if err != nil {
		return p, err
	}

	for _, d := range needed {
		p.classify(d, srv)
	}
	p.checkDependencies(srv)

	switch {
	case len(p.Missing) == 0:
		p.Reversible, p.Why = true, "nothing to add, nothing to undo"
	case p.Flavour == Flavour389:
		p.Reversible, p.Why = true, "undo deletes the added values from "+p.SubschemaDN
	case p.Flavour == FlavourOpenLDAP:
		p.Why = "OpenLDAP refuses to delete schema entries under cn=schema,cn=config " +
			"(unwilling to perform, slapd 2.5): the added definitions stay after a backout"
	default:
		p.Why = "unknown directory server (root DSE has no configContext cn=config and no 389/Netscape vendorName): " +
			"mswizard cannot add schema to it"
	}
	return p, nil
}

func (p *Plan) classify(d Def, srv serverSchema) {
	accepted := map[string]bool{strings.ToLower(d.OID): true}
	for _, o := range append(d.ExtValues(extAlsoOID), d.ExtValues(extFallbackOID)...) {
		accepted[strings.ToLower(o)] = true
	}
	for _, n := range d.Names {
		s, ok := srv.byName[d.Kind][strings.ToLower(n)]
		if !ok {
			continue
		}
		if accepted[strings.ToLower(s.OID)] {
			p.Present = append(p.Present, d)
			return
		}
		p.Conflicts = append(p.Conflicts, Conflict{Needed: d, Found: s.String(),
			Reason: fmt.Sprintf("%s %q: the server has it under OID %s, mswizard needs OID %s", kindWord(d.Kind), n, s.OID, d.OID)})
		return
	}
	oid := d.OID
	if s, taken := srv.byOID[d.Kind][strings.ToLower(oid)]; taken {
		fallback := ""
		for _, f := range d.ExtValues(extFallbackOID) {
			if _, used := srv.byOID[d.Kind][strings.ToLower(f)]; !used && (numericOID(f) || p.Flavour != FlavourOpenLDAP) {
				fallback = f
				break
			}
		}
		if fallback == "" {
			p.Conflicts = append(p.Conflicts, Conflict{Needed: d, Found: s.String(),
				Reason: fmt.Sprintf("%s %q: its OID %s is already %q on the server", kindWord(d.Kind), d.Name(), oid, s.Name())})
			return
		}
		p.Notes = append(p.Notes, fmt.Sprintf("%s %q is added under OID %s: its registered OID %s is %q on this server",
			kindWord(d.Kind), d.Name(), fallback, oid, s.Name()))
		oid = fallback
	}
	if p.Flavour == FlavourOpenLDAP && !numericOID(oid) {
		p.Conflicts = append(p.Conflicts, Conflict{Needed: d,
			Reason: fmt.Sprintf("%s %q: OpenLDAP accepts numeric OIDs only, not %q", kindWord(d.Kind), d.Name(), oid)})
		return
	}
	p.Missing = append(p.Missing, d.forServer(oid))
}

// checkDependencies makes a conflict of every missing definition that
// refers to an attribute type or object class that will not exist.
func (p *Plan) checkDependencies(srv serverSchema) {
	have := map[string]map[string]bool{AttributeType: {}, ObjectClass: {}}
	for kind, names := range srv.byName {
		for n := range names {
			have[kind][n] = true
		}
	}
	for _, d := range append(append([]Def(nil), p.Present...), p.Missing...) {
		for _, n := range d.Names {
			have[d.Kind][strings.ToLower(n)] = true
		}
	}
	known := func(kind, ref string) bool {
		return have[kind][strings.ToLower(ref)] || srv.byOID[kind][strings.ToLower(ref)].OID != ""
	}
	for _, d := range p.Missing {
		var unknown []string
		for _, s := range d.Sup {
			if !known(d.Kind, s) {
				unknown = append(unknown, "SUP "+s)
			}
		}
		for _, a := range append(append([]string(nil), d.Must...), d.May...) {
			if !known(AttributeType, a) {
				unknown = append(unknown, a)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			p.Conflicts = append(p.Conflicts, Conflict{Needed: d,
				Reason: fmt.Sprintf("%s %q refers to %s, defined neither on the server nor in the set",
					kindWord(d.Kind), d.Name(), strings.Join(unknown, ", "))})
		}
	}
}

func kindWord(kind string) string {
	if kind == ObjectClass {
		return "object class"
	}
	return "attribute type"
}

// Applied records exactly what Apply added, for the undo receipt.
type Applied struct {
	Server         string   `json:"server"`
	Flavour        string   `json:"flavour"`
	SubschemaDN    string   `json:"subschemaDN,omitempty"` // 389: the entry the values went to
	Entry          string   `json:"entry,omitempty"`       // OpenLDAP: the cn=schema,cn=config child added
	AttributeTypes []string `json:"attributeTypes,omitempty"`
	ObjectClasses  []string `json:"objectClasses,omitempty"`
}

// Changed reports whether Apply added anything.
func (a Applied) Changed() bool { return len(a.AttributeTypes)+len(a.ObjectClasses) > 0 }

// Apply adds plan.Missing to the server the plan was made from: attribute
// types before the object classes that use them, in one operation. It
// refuses a plan with conflicts (a *ConflictError, nothing changed) and does
// nothing for a plan with nothing missing. Definitions the server has
// gained since the plan (same NAME and OID) are skipped, so applying a plan
// twice adds nothing the second time. On OpenLDAP conn must be bound as the
// config database's rootDN (cn=config).
func Apply(ctx context.Context, conn Conn, plan Plan) (Applied, error) {
	a := Applied{Server: plan.Server, Flavour: plan.Flavour}
	if len(plan.Conflicts) > 0 {
		return a, &ConflictError{Conflicts: plan.Conflicts}
	}
	if len(plan.Missing) == 0 {
		return a, nil
	}
	if err := ctx.Err(); err != nil {
		return a, err
	}
	// The plan may be stale (a run resumed after a crash): skip what is
	// there by now, and refuse what appeared differently.
	now, err := readSubschema(conn, plan.SubschemaDN)
	if err != nil {
		return a, err
	}
	var stale []Conflict
	for _, d := range plan.Missing {
		if s, ok := now.byName[d.Kind][strings.ToLower(d.Name())]; ok {
			if !strings.EqualFold(s.OID, d.OID) {
				stale = append(stale, Conflict{Needed: d, Found: s.String(),
					Reason: fmt.Sprintf("%s %q appeared on the server since the plan, under OID %s", kindWord(d.Kind), d.Name(), s.OID)})
			}
			continue
		}
		if d.Kind == AttributeType {
			a.AttributeTypes = append(a.AttributeTypes, d.String())
		} else {
			a.ObjectClasses = append(a.ObjectClasses, d.String())
		}
	}
	if len(stale) > 0 {
		return Applied{Server: plan.Server, Flavour: plan.Flavour}, &ConflictError{Conflicts: stale}
	}
	if !a.Changed() {
		return a, nil
	}
	if err := ctx.Err(); err != nil {
		return Applied{}, err
	}
	switch plan.Flavour {
	case Flavour389:
		a.SubschemaDN = plan.SubschemaDN
		m := ldap.NewModifyRequest(plan.SubschemaDN, nil)
		if len(a.AttributeTypes) > 0 {
			m.Add(AttributeType, a.AttributeTypes)
		}
		if len(a.ObjectClasses) > 0 {
			m.Add(ObjectClass, a.ObjectClasses)
		}
		if err := conn.Modify(m); err != nil {
			return Applied{}, fmt.Errorf("schema: add to %s: %w", plan.SubschemaDN, err)
		}
	case FlavourOpenLDAP:
		name, err := freeSchemaName(conn)
		if err != nil {
			return Applied{}, err
		}
		a.Entry = "cn=" + name + ",cn=schema,cn=config"
		r := ldap.NewAddRequest(a.Entry, nil)
		r.Attribute("objectClass", []string{"olcSchemaConfig"})
		r.Attribute("cn", []string{name})
		if len(a.AttributeTypes) > 0 {
			r.Attribute("olcAttributeTypes", a.AttributeTypes)
		}
		if len(a.ObjectClasses) > 0 {
			r.Attribute("olcObjectClasses", a.ObjectClasses)
		}
		if err := conn.Add(r); err != nil {
			return Applied{}, fmt.Errorf("schema: add %s (bound as cn=config?): %w", a.Entry, err)
		}
	default:
		return Applied{}, fmt.Errorf("schema: %s: %s", plan.Server, plan.Why)
	}
	return a, nil
}

// freeSchemaName picks "mswizard", or "mswizard-N" when an earlier run's
// entry exists (slapd prefixes children with {index}).
func freeSchemaName(conn Conn) (string, error) {
	res, err := conn.Search(ldap.NewSearchRequest("cn=schema,cn=config", ldap.ScopeSingleLevel, ldap.NeverDerefAliases,
		0, 30, false, "(objectClass=olcSchemaConfig)", []string{"cn"}, nil))
	if err != nil {
		return "", fmt.Errorf("schema: list cn=schema,cn=config (bound as cn=config?): %w", err)
	}
	taken := map[string]bool{}
	for _, e := range res.Entries {
		cn := e.GetAttributeValue("cn")
		if i := strings.IndexByte(cn, '}'); strings.HasPrefix(cn, "{") && i > 0 {
			cn = cn[i+1:]
		}
		taken[strings.ToLower(cn)] = true
	}
	name := Origin
	for n := 2; taken[name]; n++ {
		name = fmt.Sprintf("%s-%d", Origin, n)
	}
	return name, nil
}

// Undo removes what Apply added. On 389 it deletes the exact values (object
// classes first); values already gone are skipped. On OpenLDAP it returns
// ErrIrreversible: slapd 2.5 will not delete schema.
func Undo(ctx context.Context, conn Conn, applied Applied) error {
	if !applied.Changed() {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if applied.Flavour != Flavour389 {
		return fmt.Errorf("schema: undo on %s: %w: %s stays", applied.Server, ErrIrreversible, applied.Entry)
	}
	m := ldap.NewModifyRequest(applied.SubschemaDN, nil)
	if len(applied.ObjectClasses) > 0 {
		m.Delete(ObjectClass, applied.ObjectClasses)
	}
	if len(applied.AttributeTypes) > 0 {
		m.Delete(AttributeType, applied.AttributeTypes)
	}
	err := conn.Modify(m)
	if err == nil || !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
		if err != nil {
			return fmt.Errorf("schema: undo on %s: %w", applied.SubschemaDN, err)
		}
		return nil
	}
	// Some values are gone already (an earlier, interrupted undo): one by one.
	var errs []error
	for _, kv := range []struct {
		attr string
		vals []string
	}{{ObjectClass, applied.ObjectClasses}, {AttributeType, applied.AttributeTypes}} {
		for _, v := range kv.vals {
			m := ldap.NewModifyRequest(applied.SubschemaDN, nil)
			m.Delete(kv.attr, []string{v})
			if err := conn.Modify(m); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
				errs = append(errs, fmt.Errorf("schema: undo %s %s: %w", kv.attr, abbrev(v), err))
			}
		}
	}
	return errors.Join(errs...)
}
