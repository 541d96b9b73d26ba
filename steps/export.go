package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"mswizard/ldif/export"
	"mswizard/wizard"
	"mswizard/wizard/answers"
)

// EmptyExportID is the finding ID an export of no entries fails with; a
// `Waive = ID reason` line in [Wizard] accepts the empty export (a host with
// no personal address books, say).
func EmptyExportID(name string) string { return "LDIF-EMPTY-" + strings.ToUpper(name) }

// DirectoryExport is directory/export: the appendix's ldapsearch backups of users and
// groups (DATE.ug.ldif) and personal address books (DATE.pab.ldif), done as a
// search streamed to LDIF (paged when the server offers it), verified by
// re-reading, and counted again by the server (seed 003, backup step 4).
func DirectoryExport(c *Config) wizard.Step {
	dir := filepath.Join(c.StateDir, "ldif")
	return wizard.Phase{ID: "directory/export", Title: "Export users, groups and address books to LDIF", Optional: true,
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			var as []wizard.Action
			for _, e := range c.Answers.Exports {
				spec := exportSpec(e, env)
				as = append(as, wizard.Action{
					Summary:    exportSummary(c.Answers.LDAPAddress(), spec, dir),
					Idempotent: true,
					Do: func(ctx context.Context, r *wizard.Receipt) error {
						conn, err := c.Directory.DialLDAP(ctx)
						if err != nil {
							return fmt.Errorf("directory: %w", err)
						}
						defer conn.Close()
						_, err = c.exportOne(ctx, env, conn, c.Answers.LDAPAddress(), spec, dir, r)
						return err
					},
				})
			}
			return as, nil
		},
		UndoText: "nothing: the LDIF files stay in the state directory",
	}.Step()
}

// ExportNow is `mswizard ldif export`: the configured exports run outside a
// run, into dir, with the same three checks as directory/export (read back,
// counted again by the server, empty refused unless waived), so an operator's
// export by hand is as trustworthy as the runbook's.
func (c *Config) ExportNow(ctx context.Context, env *wizard.Env, dir string) ([]export.Result, error) {
	env.Nop()
	conn, err := c.Directory.DialLDAP(ctx)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer conn.Close()
	var out []export.Result
	for _, e := range c.Answers.Exports {
		var r wizard.Receipt
		r.Step = "ldif export"
		res, err := c.exportOne(ctx, env, conn, c.Answers.LDAPAddress(), exportSpec(e, env), dir, &r)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// exportSpec turns an [Wizard] Export line into a search, DATE replaced by
// the run's date.
func exportSpec(e answers.Export, env *wizard.Env) export.Spec {
	date := env.Now().Format("20060102")
	spec := export.Spec{Name: e.Name, Base: e.Base, Filter: e.Filter, Attributes: e.Attributes, File: strings.ReplaceAll(e.File, "DATE", date)}
	switch e.Scope {
	case "base":
		spec.Scope = export.ScopeBase
	case "one":
		spec.Scope = export.ScopeOne
	}
	return spec
}

func exportSummary(server string, spec export.Spec, dir string) string {
	return fmt.Sprintf("ldap search %s -b %q %q (paged if the root DSE offers it) -> %s, then re-read, and counted again by the server (attributes 1.1); 0 entries fail unless waived (%s)",
		server, spec.Base, spec.Filter, filepath.Join(dir, spec.File), EmptyExportID(spec.Name))
}

// exportOne runs one export on conn and checks it three ways before the
// receipt names the file: the file re-read holds the entries written; the
// server, asked again for the same search returning no attributes, counts
// as many (a count independent of the writer); and the count is not zero
// unless the operator waived EmptyExportID. A file that fails a check is
// removed: it must not look like a backup.
func (c *Config) exportOne(ctx context.Context, env *wizard.Env, conn any, server string, spec export.Spec, dir string, r *wizard.Receipt) (export.Result, error) {
	s, ok := conn.(export.Searcher)
	if !ok {
		return export.Result{}, errors.New("directory: the connection cannot search")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return export.Result{}, err
	}
	// The appendix's exports are of mail recipients and address books: the
	// directory's subentries (password policies, class of service, roles)
	// are not theirs, and are left out (FAULTS.md L8).
	opts := export.Options{Server: server, Now: env.Now, Subentries: false}
	if spec.Name == "ug" && len(spec.Attributes) == 0 {
		// Users authenticate with userPassword: a bind DN an access control
		// keeps from reading it would export every user without one, a
		// backup that cannot bring logins back (FAULTS.md L4).
		opts.Required = []string{"userPassword"} // host-facts F-DSI-010 (an assumption)
	}
	// The entries to expect, for the progress's ETA: the server's count of
	// the same search without attributes, a fraction of the export's work.
	// Unknown when it fails (the export then reports the error itself).
	total, err := export.Count(ctx, s, spec, opts)
	if err != nil {
		total = 0
	}
	opts.Progress = func(n int, b int64) {
		p := wizard.Progress{Phase: "export", What: "entries", Done: int64(n), DoneBytes: b}
		if total > 0 {
			p.Total = int64(max(total, n)) // entries added meanwhile: never past 100%
		}
		env.Progress(p)
	}
	res, err := export.Export(ctx, s, spec, dir, opts)
	if err != nil {
		return res, err
	}
	fail := func(err error) (export.Result, error) {
		return export.Result{}, errors.Join(err, os.Remove(res.Path))
	}
	if n, err := export.Verify(res.Path, res.Entries); err != nil {
		return fail(fmt.Errorf("verify %s: %d entries read back: %w", res.Path, n, err))
	}
	n, err := export.Count(ctx, s, spec, opts)
	if err != nil {
		return fail(fmt.Errorf("export %s: the independent count failed: %w", spec.Name, err))
	}
	if n != res.Entries {
		return fail(fmt.Errorf("export %s: %d entries written but the server counts %d for the same search: the file is not trusted; run again", spec.Name, res.Entries, n))
	}
	how := "plain search: the server does not offer paged results"
	if res.Paged {
		how = "paged"
	}
	r.Note = fmt.Sprintf("%d entries (the server's own count agrees; %s)", res.Entries, how)
	if res.Entries == 0 {
		id := EmptyExportID(spec.Name)
		reason, waived := c.Answers.Waivers[id]
		if !waived {
			return fail(fmt.Errorf("export %s: %s under %q holds 0 entries: an empty file is no backup [%s]; check the base and filter ([Wizard] Export), or if the directory really holds none add `Waive = %s REASON` to [Wizard]",
				spec.Name, spec.Filter, spec.Base, id, id))
		}
		r.Note += fmt.Sprintf("; empty export waived (%s: %s)", id, reason)
		env.Output(r.Step, fmt.Sprintf("%s waived: %s", id, reason))
	}
	r.Files = []wizard.FileHash{{Path: res.Path, Size: res.Bytes, SHA256: res.SHA256}}
	return res, r.SetData(exportData{Result: res, ServerCount: n})
}

// exportData is a directory/export receipt's data: the export and the
// server's own count of the same search.
type exportData struct {
	export.Result
	ServerCount int `json:"server_count"`
}
