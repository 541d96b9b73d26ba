package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mswizard/steps/facts"
	"mswizard/steps/schema"
	"mswizard/wizard"
)

// schemaConn is the part of *ldap.Conn the schema steps use: the schema
// package's reads and writes, and a rebind for OpenLDAP's cn=config.
type schemaConn interface {
	schema.Conn
	Bind(username, password string) error
}

// schemaReceiptNote is what an undo on OpenLDAP leaves in the journal: slapd 2.5
// refuses to delete schema entries (COOKBOOK, "Removing a schema entry is refused").
const schemaReceiptNote = "cannot remove schema on OpenLDAP (additive, harmless): the definitions stay"

// DirectorySchema is directory/schema: ims_dssetup.pl's schema preparation
// before the installer runs (seed 003, "Directory Server のアップグレード" step 4).
func DirectorySchema(c *Config) wizard.Step {
	return c.schemaStep("directory/schema", "Prepare the directory schema for the new version").Step()
}

// PostSchema is post/schema: ims_dssetup.pl again after the upgrade, for the
// MTA's direct LDAP lookups (seed 003, post-upgrade step 3). When directory/schema
// already added everything, its check finds nothing to add, as the appendix says
// ("skip this step if you already ran ims_dssetup.pl").
func PostSchema(c *Config) wizard.Step {
	p := c.schemaStep("post/schema", "Prepare the directory schema again for MTA direct LDAP lookups")
	p.Optional = true
	return p.Step()
}

// dialSchema opens the user directory and, when the answers name a schema
// administrator, binds as it: OpenLDAP writes schema only as cn=config.
func (c *Config) dialSchema(ctx context.Context, env *wizard.Env, forWrite bool) (schemaConn, func(), error) {
	if c.Directory == nil {
		return nil, nil, errors.New("directory: no connection configured")
	}
	conn, err := c.Directory.DialLDAP(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("directory: %w", err)
	}
	closer := func() { _ = conn.Close() }
	sc, ok := conn.(schemaConn)
	if !ok {
		closer()
		return nil, nil, errors.New("directory: the connection cannot read and write schema")
	}
	if forWrite && c.Answers.SchemaAdminID != "" {
		if err := sc.Bind(c.Answers.SchemaAdminID, c.Answers.SchemaAdminPwd.Reveal()); err != nil {
			closer()
			return nil, nil, fmt.Errorf("directory: bind as SchemaAdminID %s: %w", c.Answers.SchemaAdminID, err)
		}
	}
	return sc, closer, nil
}

func (c *Config) inspectSchema(ctx context.Context, env *wizard.Env) (schema.Plan, error) {
	needed, err := schema.Needed()
	if err != nil {
		return schema.Plan{}, fmt.Errorf("schema: needed definitions: %w", err)
	}
	conn, done, err := c.dialSchema(ctx, env, false)
	if err != nil {
		return schema.Plan{}, err
	}
	defer done()
	p, err := schema.Inspect(ctx, conn, needed)
	if err != nil {
		return schema.Plan{}, fmt.Errorf("schema: inspect: %w", err)
	}
	return p, nil
}

// defList names definitions with their OIDs, for plans and receipts.
func defList(defs []schema.Def) string {
	var ats, ocs []string
	for _, d := range defs {
		s := d.Name() + " (" + d.OID + ")"
		if d.Kind == schema.ObjectClass {
			ocs = append(ocs, s)
		} else {
			ats = append(ats, s)
		}
	}
	var parts []string
	if len(ats) > 0 {
		parts = append(parts, fmt.Sprintf("%d attribute type(s): %s", len(ats), strings.Join(ats, ", ")))
	}
	if len(ocs) > 0 {
		parts = append(parts, fmt.Sprintf("%d object class(es): %s", len(ocs), strings.Join(ocs, ", ")))
	}
	return strings.Join(parts, "; ")
}

func (c *Config) schemaStep(id, title string) wizard.Phase {
	return wizard.Phase{ID: id, Title: title, Establishes: []wizard.Fact{facts.SchemaPresent},
		// Its undo talks to the directory, so it runs once every server is
		// started again: a Directory Server inside the server root is
		// stopped between its stop and start ranks (dsinstance_undo.go).
		Backout: wizard.BackoutKey{Stage: wizard.BackoutStart, Rank: 6},
		Check: func(ctx context.Context, env *wizard.Env) (bool, string, error) {
			if env.Projected(facts.SchemaPresent) {
				return true, "an earlier step will have added every definition by then; nothing to add", nil
			}
			p, err := c.inspectSchema(ctx, env)
			if err != nil {
				return false, "", err
			}
			switch {
			case len(p.Conflicts) > 0:
				return false, fmt.Sprintf("%d needed definition(s) conflict with %s", len(p.Conflicts), p.Server), nil
			case len(p.Missing) > 0:
				return false, fmt.Sprintf("%d definition(s) missing on %s", len(p.Missing), p.Server), nil
			}
			return true, fmt.Sprintf("the schema already has everything; nothing to add (%d definitions present on %s)", len(p.Present), p.Server), nil
		},
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			p, err := c.inspectSchema(ctx, env)
			if err != nil {
				return nil, err
			}
			if len(p.Conflicts) > 0 {
				// Nothing is written: a clash of names or OIDs needs a person
				// (ims_dssetup.pl would have overwritten; we do not).
				return []wizard.Action{{
					Summary:    fmt.Sprintf("stop: %d needed definition(s) are defined differently on %s; nothing is changed", len(p.Conflicts), p.Server),
					Idempotent: true,
					Do: func(ctx context.Context, r *wizard.Receipt) error {
						rep := p.Report()
						for _, l := range strings.Split(strings.TrimRight(rep, "\n"), "\n") {
							env.Output(r.Step, l)
						}
						return fmt.Errorf("schema: %d conflict(s), nothing changed; resolve them in the directory, then rerun:\n%s", len(p.Conflicts), rep)
					},
				}}, nil
			}
			if len(p.Missing) == 0 {
				return nil, nil
			}
			if p.Flavour == schema.FlavourOpenLDAP && c.Answers.SchemaAdminID == "" {
				return nil, errors.New("schema: OpenLDAP keeps its schema in cn=config, writable only by the config database's rootDN: set SchemaAdminID = cn=config and SchemaAdminPwdFile in [Wizard]")
			}
			a := wizard.Action{
				Summary:    fmt.Sprintf("add to the schema of %s (%s): %s", p.Server, p.SubschemaDN, defList(p.Missing)),
				Idempotent: true, // Apply skips what the server has gained since
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					conn, done, err := c.dialSchema(ctx, env, true)
					if err != nil {
						return err
					}
					defer done()
					applied, err := schema.Apply(ctx, conn, p)
					if err != nil {
						return fmt.Errorf("schema: apply: %w", err)
					}
					r.Note = fmt.Sprintf("added %d attribute type(s) and %d object class(es) to %s", len(applied.AttributeTypes), len(applied.ObjectClasses), applied.Server)
					env.Output(r.Step, r.Note)
					return r.SetData(applied)
				},
			}
			if !p.Reversible {
				a.Irreversible = p.Why
			}
			return []wizard.Action{a}, nil
		},
		Undo: func(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
			var as []wizard.Action
			for i := len(rs) - 1; i >= 0; i-- {
				if len(rs[i].Data) == 0 {
					continue
				}
				var applied schema.Applied
				if err := rs[i].DataInto(&applied); err != nil {
					return nil, fmt.Errorf("schema: receipt: %w", err)
				}
				if !applied.Changed() {
					continue
				}
				if applied.Flavour == schema.FlavourOpenLDAP {
					as = append(as, wizard.Action{
						Summary:    fmt.Sprintf("leave %s on %s: %s", applied.Entry, applied.Server, schemaReceiptNote),
						Idempotent: true,
						Do: func(ctx context.Context, r *wizard.Receipt) error {
							r.Note = schemaReceiptNote
							return nil
						},
					})
					continue
				}
				as = append(as, wizard.Action{
					Summary:    fmt.Sprintf("delete the %d value(s) mswizard added to %s on %s", len(applied.AttributeTypes)+len(applied.ObjectClasses), applied.SubschemaDN, applied.Server),
					Idempotent: true, // values already gone are skipped
					Do: func(ctx context.Context, r *wizard.Receipt) error {
						conn, done, err := c.dialSchema(ctx, env, true)
						if err != nil {
							return err
						}
						defer done()
						if err := schema.Undo(ctx, conn, applied); err != nil {
							if errors.Is(err, schema.ErrIrreversible) {
								r.Note = schemaReceiptNote
								return nil
							}
							return fmt.Errorf("schema: undo: %w", err)
						}
						return nil
					},
				})
			}
			return as, nil
		},
		UndoText: "delete the schema values it added (389/iPlanet); on OpenLDAP the added schema stays (additive, harmless)",
	}
}
