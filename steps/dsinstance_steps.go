package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"mswizard/internal/atomicfile"
	"mswizard/ldif/export"
	"mswizard/steps/host"
	"mswizard/steps/service"
	"mswizard/wizard"
)

// The finding IDs of the co-located Directory Server.
const (
	FindingDSInstance        = "PRE-DSI-001" // info: an instance in the server root, and what the run does with it
	FindingDSInstanceBroken  = "PRE-DSI-002" // inhibitor: an instance the wizard cannot export or restore
	FindingDSInstanceSkipped = "PRE-DSI-003" // info: a slapd-* entry that is not an instance
)

// The IDs of the two steps.
const (
	IDDSExport = "backup/directory-instance"
	IDDSCheck  = "check/directory-instance"
)

// dsSteps holds what the co-located Directory Server's steps share: the
// host's evidence (process table, listening sockets) and the LDAP dialer of
// the entry counts, both injected.
type dsSteps struct {
	c  *Config
	ev host.Evidence
	// dial opens an authenticated connection to an instance, for the
	// server's own entry counts.
	dial func(ctx context.Context, inst dsInstance) (ldap.Client, error)
}

func newDSSteps(c *Config) *dsSteps {
	s := &dsSteps{c: c, ev: host.SystemEvidence()}
	s.dial = s.dialInstance
	return s
}

// dsExportRecord is the receipt of backup/directory-instance for one
// instance: what was exported, and whether the server ran (the backout
// starts again only a server that ran).
type dsExportRecord struct {
	Instance dsInstance     `json:"instance"`
	Running  bool           `json:"running"`
	Files    []dsExportFile `json:"files"`
}

// dsExportFile is one backend's export.
type dsExportFile struct {
	Backend     string `json:"backend"`
	Suffix      string `json:"suffix"`
	Path        string `json:"path"`
	Bytes       int64  `json:"bytes"`
	SHA256      string `json:"sha256"`
	Entries     int    `json:"entries"`      // entries in the file, re-read
	ServerCount int    `json:"server_count"` // entries the server counts under the suffix
}

// dsCheckRecord is the receipt of check/directory-instance: the instance
// and the evidence it ran.
type dsCheckRecord struct {
	Instance dsInstance `json:"instance"`
	Evidence string     `json:"evidence"`
}

// instances detects the instances, failing on a dse.ldif that cannot be read.
func (s *dsSteps) instances() ([]dsInstance, []dsSkipped, error) {
	return detectDSInstances(s.c.Host.ServerRoot())
}

func (s *dsSteps) noInstance(skipped []dsSkipped) string {
	why := "no Directory Server instance in " + s.c.Host.ServerRoot() + " (slapd-*/config/dse.ldif): nothing to do"
	for _, k := range skipped {
		why += fmt.Sprintf("; %s skipped: %s", k.Path, k.Why)
	}
	return why
}

// pending is both steps' Check: done (skipped, saying why) when the server
// root holds no instance, otherwise the instances still to verb.
func (s *dsSteps) pending(verb string) func(context.Context, *wizard.Env) (bool, string, error) {
	return func(context.Context, *wizard.Env) (bool, string, error) {
		found, skipped, err := s.instances()
		if err != nil {
			return false, "", err
		}
		if len(found) == 0 {
			return true, s.noInstance(skipped), nil
		}
		return false, fmt.Sprintf("%d instance(s) to %s", len(found), verb), nil
	}
}

// DirectoryInstanceExport is backup/directory-instance: each Directory Server
// instance inside the server root exports every backend with its own db2ldif
// (seed 003, appendix C, backup step 3), re-read and counted against the
// server's own count; the backout loads the data from these exports into the
// stopped server and starts it in the appendix's place (its undo, Start rank
// of the Directory Server).
func DirectoryInstanceExport(c *Config) wizard.Step {
	s := newDSSteps(c)
	return wizard.Phase{
		ID: IDDSExport, Title: "Export the Directory Server in the server root with its own db2ldif",
		Check:     s.pending("export"),
		Preflight: s.findings,
		Plan:      s.exportPlan,
		Undo:      s.restoreUndo,
		UndoText: "with the Directory Server stopped, load each backend from its export (ldif2db -n BACKEND -i FILE), then start it " +
			"(start-slapd) after the Administration Server and before the Messaging Server, and prove it answers with the exported entry counts; " +
			"changes made to its data after the export are lost, as with the appendix's server-root restore",
		Backout: wizard.BackoutKey{Stage: wizard.BackoutStart, Rank: service.StartRank(service.Directory)},
	}.Step()
}

// DirectoryInstanceCheck is check/directory-instance: the instance found
// running is recorded with its evidence (pid, port). Its undo is the
// appendix's "stop the Directory Server", after the Messaging Server and
// before the Administration Server — and so before the server root is
// restored: its database files are never swapped under a running server.
func DirectoryInstanceCheck(c *Config) wizard.Step {
	s := newDSSteps(c)
	return wizard.Phase{
		ID: IDDSCheck, Title: "Record the Directory Server in the server root, for the backout's stop",
		Check:    s.pending("record"),
		Plan:     s.checkPlan,
		Undo:     s.stopUndo,
		UndoText: "stop the Directory Server (stop-slapd) after the Messaging Server and before the Administration Server, proved down by its process and port, before the server root is restored",
		Backout:  wizard.BackoutKey{Stage: wizard.BackoutStop, Rank: service.StopRank(service.Directory)},
	}.Step()
}

// findings: each instance found, with the tools it needs; an instance
// without them, or a dse.ldif that cannot be read, is an inhibitor.
func (s *dsSteps) findings(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
	found, skipped, err := s.instances()
	if err != nil {
		return []wizard.Finding{{ID: FindingDSInstanceBroken, Severity: wizard.Inhibitor, Message: err.Error(),
			Remediation: "make the instance's config/dse.ldif readable (docs/host-facts.md F-DSI-002), or move the directory out of the server root if it is not an instance"}}, nil
	}
	var out []wizard.Finding
	for _, k := range skipped {
		out = append(out, wizard.Finding{ID: FindingDSInstanceSkipped, Severity: wizard.Info,
			Message: fmt.Sprintf("%s is not a Directory Server instance the wizard exports: %s", k.Path, k.Why)})
	}
	for _, d := range found {
		if miss := d.missingScripts(); len(miss) > 0 {
			out = append(out, wizard.Finding{ID: FindingDSInstanceBroken, Severity: wizard.Inhibitor,
				Message:     fmt.Sprintf("the Directory Server instance %s lacks %s: its data cannot be exported and restored by its own tools", d.Dir, strings.Join(miss, ", ")),
				Remediation: "restore the instance's scripts (the Directory Server installation puts them in the instance directory, docs/host-facts.md F-DSI-001)"})
			continue
		}
		var bs []string
		for _, b := range d.Backends {
			bs = append(bs, b.Name+" ("+b.Suffix+")")
		}
		out = append(out, wizard.Finding{ID: FindingDSInstance, Severity: wizard.Info,
			Message: fmt.Sprintf("Directory Server instance %s (port %d) in the server root: %s exported by its db2ldif before the installer; a backout stops it in the appendix's order and loads them back with ldif2db",
				d.Name, d.Port, strings.Join(bs, ", "))})
	}
	return out, nil
}

// exportPlan: one action per instance, exporting all its backends.
func (s *dsSteps) exportPlan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	found, _, err := s.instances()
	if err != nil {
		return nil, err
	}
	date := env.Now().Format("20060102")
	var as []wizard.Action
	for _, d := range found {
		var cmds []string
		for _, b := range d.Backends {
			cmds = append(cmds, d.exportCmd(b, dsExportPath(s.c.StateDir, d, b, date)).String())
		}
		as = append(as, wizard.Action{
			Summary:    strings.Join(cmds, "; ") + "; each re-read (size, sha256, entries) and counted again by the server",
			Idempotent: true, // an export is written again whole
			Do: func(ctx context.Context, r *wizard.Receipt) error {
				rec, err := s.exportInstance(ctx, env, r, d, date)
				if err != nil {
					return err
				}
				var notes []string
				for _, f := range rec.Files {
					notes = append(notes, fmt.Sprintf("%s: %d entries", f.Backend, f.Entries))
					r.Files = append(r.Files, wizard.FileHash{Path: f.Path, Size: f.Bytes, SHA256: f.SHA256})
				}
				r.Note = d.Name + " exported: " + strings.Join(notes, ", ")
				return r.SetData(rec)
			},
		})
	}
	return as, nil
}

// exportInstance runs db2ldif for every backend and checks each file.
func (s *dsSteps) exportInstance(ctx context.Context, env *wizard.Env, r *wizard.Receipt, d dsInstance, date string) (dsExportRecord, error) {
	rec := dsExportRecord{Instance: d, Running: s.running(ctx, d) != notRunning}
	for _, b := range d.Backends {
		path := dsExportPath(s.c.StateDir, d, b, date)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return rec, err
		}
		// db2ldif writes where it is told; a file an earlier try left is
		// replaced, never appended to.
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return rec, err
		}
		cmd := d.exportCmd(b, path)
		cmd.Output = lineWriter(func(l string) { env.Output(r.Step, l) })
		res, err := env.Exec.Run(ctx, cmd)
		r.Command = &res
		if err != nil {
			return rec, fmt.Errorf("export %s of %s: %w", b.Name, d.Name, err)
		}
		// Exports hold password hashes (as directory/export's files do).
		if err := os.Chmod(path, 0o600); err != nil {
			return rec, fmt.Errorf("export %s of %s: %s was not written: %w", b.Name, d.Name, path, err)
		}
		if err := syncFile(path); err != nil {
			return rec, err
		}
		f, err := fileFacts(path)
		if err != nil {
			return rec, fmt.Errorf("re-read the export %s: %w", path, err)
		}
		f.Backend, f.Suffix = b.Name, b.Suffix
		f.ServerCount, err = s.count(ctx, d, b)
		if err != nil {
			return rec, fmt.Errorf("count %s of %s on the server: %w", b.Suffix, d.Name, err)
		}
		if f.ServerCount != f.Entries {
			return rec, fmt.Errorf("the export %s holds %d entries but %s counts %d under %s: the export is not a copy of the backend; rerun when the directory is quiet",
				path, f.Entries, d.Name, f.ServerCount, b.Suffix)
		}
		rec.Files = append(rec.Files, f)
	}
	return rec, nil
}

// syncFile makes a file and its directory entry durable.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}

// fileFacts re-reads an export: its size, sha256 and entries.
func fileFacts(path string) (dsExportFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return dsExportFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return dsExportFile{}, err
	}
	entries, err := countLDIF(path)
	if err != nil {
		return dsExportFile{}, err
	}
	return dsExportFile{Path: path, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil)), Entries: entries}, nil
}

// dsCountFilter asks for every entry, the iPlanet DS 5.x subentries too
// (ldapSubEntry entries are left out of a search that does not name them;
// F-DSI-007), so the count matches what db2ldif wrote.
const dsCountFilter = "(|(objectclass=*)(objectclass=ldapsubentry))"

// count is the server's own count of a backend's entries: a subtree search of
// its suffix returning no attributes (export.Count).
func (s *dsSteps) count(ctx context.Context, d dsInstance, b dsBackend) (int, error) {
	conn, err := s.dial(ctx, d)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	sr, ok := conn.(export.Searcher)
	if !ok {
		return 0, fmt.Errorf("the connection (%T) cannot search", conn)
	}
	return export.Count(ctx, sr, export.Spec{Name: b.Name, Base: b.Suffix, Filter: dsCountFilter},
		export.Options{IdleTimeout: s.c.Answers.LDAPTimeout})
}

// dialInstance binds to an instance as the answers' user-directory
// administrator: through the answers' own connection when the instance is
// the user directory (same port on this host), otherwise at the address its
// dse.ldif names (nsslapd-listenhost, F-DSI-008; 127.0.0.1 when unset: the
// instance then binds every interface) on its nsslapd-port with the same
// credentials. A bind that fails fails the count: an export no server count
// confirms is not trusted.
func (s *dsSteps) dialInstance(ctx context.Context, d dsInstance) (ldap.Client, error) {
	a := s.c.Answers
	if s.c.Directory != nil && s.isUserDirectory(d) {
		return s.c.Directory.DialLDAP(ctx)
	}
	conn, err := export.Dial(ctx, d.url(),
		export.Bind{DN: a.UserDirectoryAdminID, Password: export.Secret(a.UserDirectoryAdminPwd.Reveal())},
		export.TLS{}, export.DialOptions{Timeout: a.LDAPTimeout})
	if err != nil {
		return nil, fmt.Errorf("bind to %s as UserDirectoryAdminID: %w", d.Name, err)
	}
	return conn, nil
}

// url is where the wizard reaches an instance on this host: its
// nsslapd-listenhost when set (F-DSI-008), else 127.0.0.1.
func (d dsInstance) url() string {
	h := d.ListenHost
	if h == "" || h == "0.0.0.0" || h == "::" {
		h = "127.0.0.1"
	}
	return "ldap://" + net.JoinHostPort(h, strconv.Itoa(d.Port))
}

// isUserDirectory says whether the answers' user directory is this instance:
// its URL names this host and the instance's port.
func (s *dsSteps) isUserDirectory(d dsInstance) bool {
	u, err := url.Parse(s.c.Answers.UserDirectoryLdapURL)
	if err != nil {
		return false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"ldap": "389", "ldaps": "636"}[u.Scheme]
	}
	if port != strconv.Itoa(d.Port) {
		return false
	}
	h := strings.ToLower(u.Hostname())
	fqdn := strings.ToLower(s.c.Answers.FullMachineName)
	short, _, _ := strings.Cut(fqdn, ".")
	if h == "localhost" || h == fqdn || h == short {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// runState is what the host's evidence says of an instance.
type runState int

const (
	runUnknown runState = iota // the evidence could not be read: never taken for "down"
	notRunning
	isRunning
)

// running reads the evidence of an instance: a process whose arguments name
// the instance directory (ns-slapd -D SERVER-ROOT/slapd-ID/config,
// F-DSI-005), or a listener on its port.
func (s *dsSteps) running(ctx context.Context, d dsInstance) runState {
	st, _ := s.evidence(ctx, d)
	return st
}

// evidence says whether the instance runs and why.
func (s *dsSteps) evidence(ctx context.Context, d dsInstance) (runState, string) {
	procs, perr := s.ev.Procs(ctx)
	ls, lerr := s.ev.Listeners(ctx)
	var why []string
	for _, p := range procs {
		for _, a := range p.Args {
			if a == d.Dir || strings.HasPrefix(a, d.Dir+string(filepath.Separator)) {
				why = append(why, p.String())
				break
			}
		}
	}
	for _, l := range ls {
		if l.Port == d.Port {
			why = append(why, "listening on "+l.String())
		}
	}
	if len(why) > 0 {
		return isRunning, strings.Join(why, "; ")
	}
	if perr != nil || lerr != nil {
		return runUnknown, fmt.Sprintf("the evidence cannot be read (%v; %v)", perr, lerr)
	}
	return notRunning, fmt.Sprintf("no process names %s and nothing listens on port %d (%s)", d.Dir, d.Port, s.ev.Source)
}

// checkPlan records each instance with its evidence.
func (s *dsSteps) checkPlan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	found, _, err := s.instances()
	if err != nil {
		return nil, err
	}
	var as []wizard.Action
	for _, d := range found {
		as = append(as, wizard.Action{
			Summary:    fmt.Sprintf("record %s (port %d) and whether it runs, from the process table and the listening sockets", d.Name, d.Port),
			Idempotent: true,
			Do: func(ctx context.Context, r *wizard.Receipt) error {
				st, why := s.evidence(ctx, d)
				r.Note = d.Name + ": " + why
				if st == notRunning {
					r.Note = d.Name + " is not running: " + why
				}
				return r.SetData(dsCheckRecord{Instance: d, Evidence: why})
			},
		})
	}
	return as, nil
}

// waitState polls the evidence until the instance is in the wanted state or
// the timeout passes.
func (s *dsSteps) waitState(ctx context.Context, env *wizard.Env, d dsInstance, want runState, timeout time.Duration) (string, error) {
	deadline := env.Now().Add(timeout)
	for {
		st, why := s.evidence(ctx, d)
		if st == want {
			return why, nil
		}
		if !env.Now().Before(deadline) {
			return why, fmt.Errorf("%s: %s after %s", d.Name, why, timeout)
		}
		select {
		case <-ctx.Done():
			return why, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
