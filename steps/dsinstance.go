package steps

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"mswizard/ldif"
	"mswizard/wizard"
)

// A Directory Server instance inside the server root (SERVER-ROOT/slapd-ID):
// the usual iPlanet layout, where the Messaging Server's user and
// configuration directories live beside it. Its database files are not
// trusted from the hot server-root archive: the upgrade exports each backend
// with the instance's own db2ldif, and the backout stops the instance in the
// appendix's place, restores the server root (its configuration), loads the
// data from the export with ldif2db and starts it again in its place
// (docs/host-facts.md F-DSI-001 … F-DSI-007).

// dsInstance is one Directory Server instance found in the server root.
type dsInstance struct {
	Name string `json:"name"` // slapd-ID
	Dir  string `json:"dir"`  // SERVER-ROOT/slapd-ID
	Port int    `json:"port"` // nsslapd-port of cn=config
	// ListenHost is cn=config's nsslapd-listenhost, the one address the
	// instance binds when set (F-DSI-008); "" binds all interfaces.
	ListenHost string      `json:"listen_host,omitempty"`
	RootDN     string      `json:"root_dn,omitempty"`
	Backends   []dsBackend `json:"backends"`
}

// dsBackend is one ldbm database of an instance: its name (the -n of
// db2ldif and ldif2db) and the suffix it holds.
type dsBackend struct {
	Name   string `json:"name"`
	Suffix string `json:"suffix"`
}

// dsSkipped is a slapd-* entry of the server root that is not an instance
// the wizard can export, and why.
type dsSkipped struct{ Path, Why string }

// The instance's own programs, in the instance directory (F-DSI-001: "By
// default all scripts are stored in /usr/iplanet/servers/slapd-serverID").
func (d dsInstance) script(name string) string { return filepath.Join(d.Dir, name) }

// dseLDIF is the instance's configuration (F-DSI-001: the scripts use the
// dse.ldif in slapd-serverID/config).
func dseLDIF(dir string) string { return filepath.Join(dir, "config", "dse.ldif") }

// ldbmBase is where iPlanet DS 5.x keeps its backend instances in dse.ldif
// (F-DSI-002): cn=NAME,cn=ldbm database,cn=plugins,cn=config, objectClass
// nsBackendInstance, nsslapd-suffix.
const ldbmBase = "cn=ldbm database,cn=plugins,cn=config"

// detectDSInstances lists the Directory Server instances in the server
// root: every directory SERVER-ROOT/slapd-* holding config/dse.ldif with at
// least one ldbm backend. A slapd-* entry that is not such an instance (a
// file, a copy named *.bak, a directory without dse.ldif, one without
// backends) is listed in skipped with the reason, never guessed at; a
// dse.ldif that cannot be read is an error.
func detectDSInstances(serverRoot string) (found []dsInstance, skipped []dsSkipped, err error) {
	matches, err := filepath.Glob(filepath.Join(serverRoot, "slapd-*"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(matches)
	for _, m := range matches {
		fi, err := os.Stat(m)
		switch {
		case err != nil:
			skipped = append(skipped, dsSkipped{m, err.Error()})
			continue
		case !fi.IsDir():
			skipped = append(skipped, dsSkipped{m, "not a directory"})
			continue
		case strings.Contains(filepath.Base(m), "."):
			// slapd-budgie.bak, slapd-budgie.old: copies an operator kept;
			// an instance's ID is a host name label (host-facts F-DSI-009).
			skipped = append(skipped, dsSkipped{m, "a copy (its name has a dot), not an instance ID"})
			continue
		}
		f, err := os.Open(dseLDIF(m))
		if errors.Is(err, os.ErrNotExist) {
			skipped = append(skipped, dsSkipped{m, "no config/dse.ldif: not a Directory Server 5.x instance"})
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("directory server instance %s: %w", m, err)
		}
		inst, perr := parseDSE(f, dseLDIF(m))
		f.Close()
		if perr != nil {
			return nil, nil, fmt.Errorf("directory server instance %s: %w", m, perr)
		}
		inst.Name, inst.Dir = filepath.Base(m), m
		if len(inst.Backends) == 0 {
			skipped = append(skipped, dsSkipped{m, "dse.ldif names no ldbm backend: no data to export"})
			continue
		}
		found = append(found, inst)
	}
	return found, skipped, nil
}

// parseDSE reads what the wizard needs from an instance's dse.ldif: the
// port and root DN of cn=config, and the ldbm backends with their suffixes.
func parseDSE(r io.Reader, name string) (dsInstance, error) {
	var inst dsInstance
	rd := ldif.NewReader(r, name, ldif.ReaderOptions{})
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return inst, err
		}
		e := &rec.Entry
		dn := normDN(e.DN)
		switch {
		case dn == "cn=config":
			if p := e.Get("nsslapd-port"); len(p) > 0 {
				n, err := strconv.Atoi(strings.TrimSpace(p[0]))
				if err != nil || n <= 0 || n > 65535 {
					return inst, fmt.Errorf("%s: cn=config: nsslapd-port %q is not a port", name, p[0])
				}
				inst.Port = n
			}
			if v := e.Get("nsslapd-rootdn"); len(v) > 0 {
				inst.RootDN = v[0]
			}
			if v := e.Get("nsslapd-listenhost"); len(v) > 0 {
				inst.ListenHost = strings.TrimSpace(v[0])
			}
		case strings.HasSuffix(dn, ","+normDN(ldbmBase)) && hasValue(e.Get("objectClass"), "nsBackendInstance"):
			cn := e.Get("cn")
			sfx := e.Get("nsslapd-suffix")
			if len(cn) == 0 || len(sfx) == 0 {
				return inst, fmt.Errorf("%s: backend %s has no cn or no nsslapd-suffix", name, e.DN)
			}
			inst.Backends = append(inst.Backends, dsBackend{Name: cn[0], Suffix: sfx[0]})
		}
	}
	if inst.Port == 0 && len(inst.Backends) > 0 {
		// The documented default (F-DSI-002) is 389, but a port the file
		// does not state is not assumed: the count and the stop proof need it.
		return inst, fmt.Errorf("%s: cn=config has no nsslapd-port", name)
	}
	return inst, nil
}

func hasValue(vs []string, want string) bool {
	for _, v := range vs {
		if strings.EqualFold(v, want) {
			return true
		}
	}
	return false
}

// dsTimeout bounds one db2ldif or ldif2db run.
const dsTimeout = time.Hour

// exportCmd is the instance's own export of one backend (F-DSI-003):
// `db2ldif -n BACKEND -a FILE`, run from the instance directory (the scripts
// assume it, F-DSI-001). It works while the server runs.
func (d dsInstance) exportCmd(b dsBackend, file string) wizard.Command {
	return wizard.Command{Path: d.script("db2ldif"), Args: []string{"-n", b.Name, "-a", file}, Dir: d.Dir, Timeout: dsTimeout}
}

// importCmd loads one backend from an export (F-DSI-004): `ldif2db -n BACKEND
// -i FILE`, which replaces the backend's data and needs the server stopped.
func (d dsInstance) importCmd(b dsBackend, file string) wizard.Command {
	return wizard.Command{Path: d.script("ldif2db"), Args: []string{"-n", b.Name, "-i", file}, Dir: d.Dir, Timeout: dsTimeout}
}

// startCmd and stopCmd are the instance's start-slapd and stop-slapd
// (F-DSI-005): exit 0 done, 2 already so, anything else a failure.
func (d dsInstance) startCmd(timeout time.Duration) wizard.Command {
	return wizard.Command{Path: d.script("start-slapd"), Dir: d.Dir, Timeout: timeout}
}

func (d dsInstance) stopCmd(timeout time.Duration) wizard.Command {
	return wizard.Command{Path: d.script("stop-slapd"), Dir: d.Dir, Timeout: timeout}
}

// exportFile is where a backend's export goes: the state directory, not the
// instance's own ldif/ directory the appendix names (F-DSI-006): the
// backout restores the server root from the archive made before the export,
// which would take an export inside it away before ldif2db could read it.
// The name follows the appendix's date.ldif convention, with the instance
// and the backend.
func dsExportPath(stateDir string, d dsInstance, b dsBackend, date string) string {
	return filepath.Join(stateDir, "directory-instance", d.Name, date+"."+b.Name+".ldif")
}

// missingScripts lists the instance's programs the export and the backout
// need that are not executable files.
func (d dsInstance) missingScripts() []string {
	var out []string
	for _, s := range []string{"db2ldif", "ldif2db", "start-slapd", "stop-slapd"} {
		fi, err := os.Stat(d.script(s))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			out = append(out, d.script(s))
		}
	}
	return out
}

// countLDIF reads an export and counts its entries: every record must be a
// content record (db2ldif writes no change records).
func countLDIF(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rd := ldif.NewReader(f, path, ldif.ReaderOptions{})
	n := 0
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if rec.ChangeType != "" {
			return n, fmt.Errorf("%s:%d: a change record (%s) in an export", path, rec.Line, rec.ChangeType)
		}
		n++
	}
}
