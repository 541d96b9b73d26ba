package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"mswizard/ldif"
	"mswizard/ldif/export"
	"mswizard/wizard"
)

// dirChange is one change that returns an entry of this server's part to
// its exported state.
type dirChange struct {
	Kind  string      `json:"kind"` // add, delete, modify
	DN    string      `json:"dn"`
	Entry *ldif.Entry `json:"-"`              // add: the exported entry
	Mods  []attrMod   `json:"mods,omitempty"` // modify
	depth int
}

// attrMod is one attribute put back: its values now and as exported.
type attrMod struct {
	Name string   `json:"name"`
	Now  []string `json:"now,omitempty"`
	Was  []string `json:"was,omitempty"`
}

// secretAttr says whether an attribute's values must not be printed.
func secretAttr(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "password") || strings.Contains(n, "pwd")
}

func showValues(name string, vs []string) string {
	if len(vs) == 0 {
		return "(none)"
	}
	if secretAttr(name) {
		return "REDACTED"
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(q, " ") + "]"
}

func (c dirChange) String() string {
	switch c.Kind {
	case "add":
		return fmt.Sprintf("add back %s (deleted since the export, %d attributes)", c.DN, len(c.Entry.Attributes))
	case "delete":
		return fmt.Sprintf("delete %s (added since the export)", c.DN)
	}
	var ms []string
	for _, m := range c.Mods {
		ms = append(ms, fmt.Sprintf("%s %s -> %s", m.Name, showValues(m.Name, m.Now), showValues(m.Name, m.Was)))
	}
	return fmt.Sprintf("put back %s: %s", c.DN, strings.Join(ms, "; "))
}

// outside describes a difference outside this server's part, which is
// reported and never changed.
func (c dirChange) outside() string {
	switch c.Kind {
	case "add":
		return c.DN + " deleted since the export"
	case "delete":
		return c.DN + " added since the export"
	}
	var ms []string
	for _, m := range c.Mods {
		ms = append(ms, fmt.Sprintf("%s now %s, exported %s", m.Name, showValues(m.Name, m.Now), showValues(m.Name, m.Was)))
	}
	return fmt.Sprintf("%s changed since the export (%s)", c.DN, strings.Join(ms, "; "))
}

// apply makes the change; each kind is idempotent, so a rerun after a crash
// finds its work done.
func (c dirChange) apply(conn configConn) error {
	switch c.Kind {
	case "delete":
		if err := conn.Del(ldap.NewDelRequest(c.DN, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return fmt.Errorf("delete %s: %w", c.DN, err)
		}
		return nil
	case "add":
		add := ldap.NewAddRequest(c.DN, nil)
		for _, a := range c.Entry.Attributes {
			add.Attribute(a.Name, a.Values)
		}
		err := conn.Add(add)
		if err == nil {
			return nil
		}
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return fmt.Errorf("add %s: %w", c.DN, err)
		}
		// Added by an earlier try: make its attributes the exported ones.
		m := ldap.NewModifyRequest(c.DN, nil)
		for _, a := range c.Entry.Attributes {
			m.Replace(a.Name, a.Values)
		}
		if err := conn.Modify(m); err != nil {
			return fmt.Errorf("add %s: %w", c.DN, err)
		}
		return nil
	}
	m := ldap.NewModifyRequest(c.DN, nil)
	for _, a := range c.Mods {
		// replace with no values removes the attribute (RFC 4511 §4.6).
		m.Replace(a.Name, a.Was)
	}
	if err := conn.Modify(m); err != nil {
		return fmt.Errorf("modify %s: %w", c.DN, err)
	}
	return nil
}

// configDiffResult is the configuration directory now against the export.
type configDiffResult struct {
	Roots   []string    // this server's part: in the export and now
	Changes []dirChange // what returns the part to the export, in order
	Outside []string    // changed entries outside the part: reported, never touched
	Entries int         // entries of the part now
}

// attrMap is an entry's attributes by lower-cased name, values sorted.
func attrMap(e *ldif.Entry) map[string][]string {
	m := map[string][]string{}
	for _, a := range e.Attributes {
		k := strings.ToLower(a.Name)
		m[k] = append(m[k], a.Values...)
	}
	for k := range m {
		slices.Sort(m[k])
	}
	return m
}

// attrName returns the spelling of name in e, or name.
func attrName(e *ldif.Entry, lower string) string {
	if e != nil {
		for _, a := range e.Attributes {
			if strings.ToLower(a.Name) == lower {
				return a.Name
			}
		}
	}
	return lower
}

// diffEntries compares the exported entries with the current ones within
// roots and returns the changes that put the current state back.
func diffEntries(exported, current []ldif.Entry, roots []string) configDiffResult {
	res := configDiffResult{Roots: roots}
	exp, cur := map[string]*ldif.Entry{}, map[string]*ldif.Entry{}
	var dns []string
	for i := range exported {
		k := normDN(exported[i].DN)
		exp[k] = &exported[i]
		dns = append(dns, k)
	}
	for i := range current {
		k := normDN(current[i].DN)
		if _, ok := exp[k]; !ok {
			dns = append(dns, k)
		}
		cur[k] = &current[i]
	}
	inPart := func(dn string) bool {
		return slices.ContainsFunc(roots, func(r string) bool { return under(dn, r) })
	}
	var dels, adds, mods []dirChange
	for _, k := range dns {
		e, c := exp[k], cur[k]
		if c != nil && inPart(k) {
			res.Entries++
		}
		var ch dirChange
		switch {
		case e == nil:
			ch = dirChange{Kind: "delete", DN: c.DN}
		case c == nil:
			ch = dirChange{Kind: "add", DN: e.DN, Entry: e}
		default:
			em, cm := attrMap(e), attrMap(c)
			var names []string
			for n := range em {
				names = append(names, n)
			}
			for n := range cm {
				if _, ok := em[n]; !ok {
					names = append(names, n)
				}
			}
			slices.Sort(names)
			for _, n := range names {
				if !slices.Equal(em[n], cm[n]) {
					ch.Mods = append(ch.Mods, attrMod{Name: attrName(e, n), Now: cm[n], Was: em[n]})
				}
			}
			if len(ch.Mods) == 0 {
				continue
			}
			ch.Kind, ch.DN = "modify", e.DN
		}
		ch.depth = strings.Count(k, ",")
		if !inPart(k) {
			res.Outside = append(res.Outside, ch.outside())
			continue
		}
		switch ch.Kind {
		case "delete":
			dels = append(dels, ch)
		case "add":
			adds = append(adds, ch)
		default:
			mods = append(mods, ch)
		}
	}
	// Children are deleted before their parents and added after them.
	slices.SortStableFunc(dels, func(a, b dirChange) int { return b.depth - a.depth })
	slices.SortStableFunc(adds, func(a, b dirChange) int { return a.depth - b.depth })
	res.Changes = append(append(dels, adds...), mods...)
	return res
}

// configDiff reads the configuration directory now and compares it with the
// export recorded in d.
func (c *Config) configDiff(ctx context.Context, env *wizard.Env, d configExportData) (configDiffResult, error) {
	if err := checkSHA256(d.Path, d.SHA256); err != nil {
		return configDiffResult{}, err
	}
	exported, err := readLDIF(d.Path)
	if err != nil {
		return configDiffResult{}, err
	}
	conn, cd, err := c.dialConfigDir(ctx, env)
	if err != nil {
		return configDiffResult{}, err
	}
	defer conn.Close()
	tmp, err := os.MkdirTemp("", "mswizard-configdir-")
	if err != nil {
		return configDiffResult{}, err
	}
	defer os.RemoveAll(tmp)
	res, err := export.Export(ctx, conn, export.Spec{Name: "config-now", Base: d.Base, File: "now.ldif"}, tmp,
		export.Options{Server: cd.Addr, Now: env.Now, AllowReferrals: true})
	if err != nil {
		return configDiffResult{}, fmt.Errorf("read the configuration directory now: %w", err)
	}
	current, err := readLDIF(res.Path)
	if err != nil {
		return configDiffResult{}, err
	}
	roots := append(slices.Clone(d.Roots), serverPart(current, d.Base, d.Domain, d.Host, d.ServerRoot)...)
	slices.Sort(roots)
	return diffEntries(exported, current, slices.Compact(roots)), nil
}

func checkSHA256(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("the configuration directory export: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("the configuration directory export %s changed since it was written (sha256 %s, journaled %s): not used to put entries back", path, got, want)
	}
	return nil
}

// configUndo plans the return of this server's part to the export: one
// action per change, each shown in the plan and journaled with its change,
// then a check that the part equals the export.
func (c *Config) configUndo(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
	var d configExportData
	for _, r := range rs {
		var x configExportData
		if len(r.Data) > 0 && r.DataInto(&x) == nil && x.Path != "" {
			d = x
		}
	}
	if d.Path == "" {
		return nil, nil
	}
	verify := wizard.Action{Idempotent: true, Do: func(ctx context.Context, r *wizard.Receipt) error {
		diff, err := c.configDiff(ctx, env, d)
		if err != nil {
			return err
		}
		if n := len(diff.Changes); n > 0 {
			var s []string
			for _, ch := range diff.Changes {
				s = append(s, ch.String())
			}
			return fmt.Errorf("this server's part of the configuration directory still differs from %s in %d entr(ies): %s", d.Path, n, strings.Join(s, "; "))
		}
		for _, o := range diff.Outside {
			env.Output(r.Step, "outside this server's part, left as is: "+o)
		}
		r.Note = fmt.Sprintf("this server's part (%s) matches %s: %d entries; %d change(s) outside it left as they are",
			strings.Join(diff.Roots, "; "), d.Path, diff.Entries, len(diff.Outside))
		return r.SetData(diff.Outside)
	}}
	diff, err := c.configDiff(ctx, env, d)
	if err != nil {
		// Unreadable while planning (the directory may be down now): compare
		// and put back at run time, then check.
		return []wizard.Action{{
			Summary:    fmt.Sprintf("configuration directory: compare this server's part with %s and put back what changed (cannot compare now: %v)", d.Path, err),
			Idempotent: true,
			Do: func(ctx context.Context, r *wizard.Receipt) error {
				diff, err := c.configDiff(ctx, env, d)
				if err != nil {
					return err
				}
				conn, _, err := c.dialConfigDir(ctx, env)
				if err != nil {
					return err
				}
				defer conn.Close()
				var done []string
				for _, ch := range diff.Changes {
					if err := ch.apply(conn); err != nil {
						return errors.Join(err, fmt.Errorf("done before it: %s", strings.Join(done, "; ")))
					}
					done = append(done, ch.String())
					env.Output(r.Step, ch.String())
				}
				r.Note = fmt.Sprintf("%d change(s): %s", len(done), strings.Join(done, "; "))
				return r.SetData(diff.Changes)
			},
		}, withSummary(verify, fmt.Sprintf("configuration directory: check this server's part equals %s", d.Path))}, nil
	}
	var as []wizard.Action
	for _, ch := range diff.Changes {
		as = append(as, wizard.Action{
			Summary:    "configuration directory: " + ch.String(),
			Idempotent: true,
			Do: func(ctx context.Context, r *wizard.Receipt) error {
				conn, _, err := c.dialConfigDir(ctx, env)
				if err != nil {
					return err
				}
				defer conn.Close()
				if err := ch.apply(conn); err != nil {
					return err
				}
				r.Note = ch.String()
				return r.SetData(ch)
			},
		})
	}
	what := fmt.Sprintf("configuration directory: check this server's part (%s) equals %s", strings.Join(diff.Roots, "; "), d.Path)
	if len(diff.Changes) == 0 {
		what += " (nothing changed there since the export)"
	}
	if len(diff.Outside) > 0 {
		what += fmt.Sprintf("; %d change(s) outside it are left as they are: %s", len(diff.Outside), strings.Join(diff.Outside, "; "))
	}
	return append(as, withSummary(verify, what)), nil
}

func withSummary(a wizard.Action, s string) wizard.Action {
	a.Summary = s
	return a
}
