package steps

// The configuration directory (o=NetscapeRoot).
//
// The installer registers the server in the configuration directory named by
// install.inf's ConfigDirectoryLdapURL, so that directory must be reachable at
// install time (seed 004: the configuration directory is needed when
// installing, and cached afterwards), and the appendix's full backup covers it
// (seed 003, backup step 3: db2ldif "特に構成用ディレクトリとユーザ/グループ用
// ディレクトリ", especially the configuration and the user/group directories).
// preflight/config-directory probes it; directory/config-export exports it
// before the installer runs; its undo returns this server's part of the tree
// to the exported state.
//
// "This server's part" (the rule, and why). The configuration directory lays
// out hosts and server roots as
//
//	ou=ADMINDOMAIN, o=NetscapeRoot                      install.inf AdminDomain
//	  cn=HOST                                           install.inf FullMachineName (nsHost)
//	    cn=Server Group[ (N)]                            one per server root (nsAdminGroup)
//	      cn=PRODUCT                                     e.g. iPlanet Administration Server (ISIE)
//	        cn=SERVER-ID                                 e.g. admin-serv-HOST, msg-INSTANCE (SIE, nsServerID)
//
// (the Administration Server's adm.conf names its sie and isie this way:
// "cn=admin-serv-HOST, cn=iPlanet Administration Server, cn=Server Group,
// cn=HOST, ou=DOMAIN, o=NetscapeRoot"). The admin group's nsConfigRoot is
// "location of the product installation" and an SIE's serverRoot the "path to
// the server's installation root" (Netscape Directory Server 4.0 Schema
// Reference: nsAdminGroup, netscapeServer/serverRoot). The upgrade runs on
// "the same machine and the same server-root" (seed 003, upgrade step 3), and
// the backout restores exactly that server root. So this server's part is:
//
//   - every admin group entry directly under cn=FullMachineName,
//     ou=AdminDomain whose nsConfigRoot is this ServerRoot, with its subtree;
//   - every entry under cn=FullMachineName whose serverRoot is this
//     ServerRoot and that lies in no such group, with its subtree;
//
// found in the export and in the directory at backout time (an entry the
// installer added for this server root is found by the same rule). Nothing
// else is ever written: other hosts, other server roots on this host,
// ou=Global Preferences (shared by every server of the domain) and the
// administrators under ou=TopologyManagement are compared and reported, never
// changed.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"mswizard/ldif"
	"mswizard/ldif/export"
	"mswizard/wizard"
	"mswizard/wizard/answers"
)

// Finding IDs of the configuration directory probe.
const (
	FindingConfigDirOK          = "PRE-CFGDIR-000"
	FindingConfigDirURL         = "PRE-CFGDIR-001"
	FindingConfigDirUnreachable = "PRE-CFGDIR-002"
)

// ConfigDirectoryDialer is a Directory that can also open the configuration
// directory (tests inject one); otherwise the wizard dials
// ConfigDirectoryLdapURL itself with the answers' TLS settings.
type ConfigDirectoryDialer interface {
	DialConfigDirectory(ctx context.Context) (ldap.Client, error)
}

// configDir is where the configuration directory is and how to bind.
type configDir struct {
	Addr string // scheme://host:port
	Base string // o=NetscapeRoot
	Bind export.Bind
}

// configDirectory reads ConfigDirectoryLdapURL and the bind identity:
// ConfigDirectoryAdminID is the configuration administrator's uid, whose entry
// is uid=ID,ou=Administrators,ou=TopologyManagement,o=NetscapeRoot (HP-UX
// Directory Server 8.1 Console Guide, 4.3.3), or a full DN; without it the
// wizard binds as UserDirectoryAdminID (the usual single-server layout).
func configDirectory(a *answers.Answers) (configDir, error) {
	raw := a.ConfigDirectoryLdapURL
	if raw == "" {
		return configDir{}, errors.New("ConfigDirectoryLdapURL is not set in [General]")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return configDir{}, fmt.Errorf("ConfigDirectoryLdapURL = %q: want ldap://host:port/o=NetscapeRoot", raw)
	}
	cd := configDir{Addr: u.Scheme + "://" + u.Host, Base: strings.TrimPrefix(u.Path, "/")}
	if cd.Base == "" {
		cd.Base = "o=NetscapeRoot"
	}
	switch id := a.ConfigDirectoryAdminID; {
	case id == "":
		cd.Bind = export.Bind{DN: a.UserDirectoryAdminID, Password: export.Secret(a.UserDirectoryAdminPwd.Reveal())}
	case strings.Contains(id, "="):
		cd.Bind = export.Bind{DN: id, Password: export.Secret(a.ConfigDirectoryAdminPwd.Reveal())}
	default:
		cd.Bind = export.Bind{DN: "uid=" + ldap.EscapeDN(id) + ",ou=Administrators,ou=TopologyManagement," + cd.Base,
			Password: export.Secret(a.ConfigDirectoryAdminPwd.Reveal())}
	}
	return cd, nil
}

// configConn is the part of *ldap.Conn the configuration directory steps use.
type configConn interface {
	export.Searcher
	Search(*ldap.SearchRequest) (*ldap.SearchResult, error)
	Add(*ldap.AddRequest) error
	Modify(*ldap.ModifyRequest) error
	Del(*ldap.DelRequest) error
	Close() error
}

func (c *Config) dialConfigDir(ctx context.Context, env *wizard.Env) (configConn, configDir, error) {
	cd, err := configDirectory(c.Answers)
	if err != nil {
		return nil, cd, err
	}
	var conn ldap.Client
	if d, ok := c.Directory.(ConfigDirectoryDialer); ok {
		conn, err = d.DialConfigDirectory(ctx)
	} else {
		a := c.Answers
		conn, err = export.Dial(ctx, cd.Addr, cd.Bind,
			export.TLS{CAFile: a.LDAPCAFile, StartTLS: a.LDAPStartTLS, InsecureSkipVerify: a.LDAPInsecureSkipVerify},
			export.DialOptions{Timeout: a.LDAPTimeout})
	}
	if err != nil {
		return nil, cd, fmt.Errorf("configuration directory %s as %q: %w", cd.Addr, cd.Bind.DN, err)
	}
	cc, ok := conn.(configConn)
	if !ok {
		conn.Close()
		return nil, cd, errors.New("configuration directory: the connection cannot search and write")
	}
	return cc, cd, nil
}

// ConfigDirectoryProbe is preflight/config-directory: the configuration
// directory answers, the bind works and its suffix exists (seed 004).
func ConfigDirectoryProbe(c *Config) wizard.Step {
	return wizard.Phase{ID: "preflight/config-directory", Title: "Configuration directory reachable", Check: findingsRanFirst,
		Preflight: func(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
			cd, err := configDirectory(c.Answers)
			if err != nil {
				return []wizard.Finding{{ID: FindingConfigDirURL, Severity: wizard.Inhibitor, Message: err.Error(),
					Remediation: "set ConfigDirectoryLdapURL in [General] to the configuration directory, e.g. ldap://ldap.siroe.com:389/o=NetscapeRoot: the installer registers the server there"}}, nil
			}
			down := func(err error) []wizard.Finding {
				return []wizard.Finding{{ID: FindingConfigDirUnreachable, Severity: wizard.Inhibitor,
					Message:     fmt.Sprintf("the configuration directory %s/%s cannot be read: %v; the installer needs it at install time", cd.Addr, cd.Base, err),
					Remediation: "start the Directory Server holding " + cd.Base + " and check ConfigDirectoryLdapURL, ConfigDirectoryAdminID and ConfigDirectoryAdminPwd"}}
			}
			conn, _, err := c.dialConfigDir(ctx, env)
			if err != nil {
				return down(err), nil
			}
			defer conn.Close()
			res, err := conn.Search(ldap.NewSearchRequest(cd.Base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
				"(objectClass=*)", []string{"1.1"}, nil))
			if err == nil && len(res.Entries) == 0 {
				err = errors.New("no base entry returned")
			}
			if err != nil {
				return down(fmt.Errorf("%s: %w", cd.Base, err)), nil
			}
			return []wizard.Finding{{ID: FindingConfigDirOK, Severity: wizard.Info,
				Message: fmt.Sprintf("the configuration directory %s/%s answers as %q", cd.Addr, cd.Base, cd.Bind.DN)}}, nil
		},
	}.Step()
}

// configExportData is what directory/config-export records for its undo.
type configExportData struct {
	exportData
	Base       string   `json:"base"`
	ServerRoot string   `json:"server_root"`
	Host       string   `json:"host"`
	Domain     string   `json:"domain"`
	Roots      []string `json:"roots"` // this server's part in the export
}

func (c *Config) configExportSpec(env *wizard.Env, base string) export.Spec {
	e := answers.Export{Name: "config", Base: base, Scope: "sub", Filter: "(objectclass=*)", File: "DATE.config.ldif"}
	if c.Answers.ConfigExport != nil {
		e = *c.Answers.ConfigExport
	}
	return exportSpec(e, env)
}

func (c *Config) adminDomain() string {
	if d := c.Answers.AdminDomain; d != "" {
		return d
	}
	if _, d, ok := strings.Cut(c.Answers.FullMachineName, "."); ok {
		return d
	}
	return c.Answers.FullMachineName
}

// ConfigExport is directory/config-export: the configuration directory
// exported before the installer writes to it; its undo puts this server's
// part back as exported.
func ConfigExport(c *Config) wizard.Step {
	dir := filepath.Join(c.StateDir, "ldif")
	return wizard.Phase{ID: "directory/config-export", Title: "Export the configuration directory (o=NetscapeRoot) to LDIF",
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			cd, err := configDirectory(c.Answers)
			if err != nil {
				if reason, ok := c.Answers.Waivers[FindingConfigDirURL]; ok {
					return []wizard.Action{waivedConfigExport(FindingConfigDirURL, reason, err)}, nil
				}
				return nil, err
			}
			spec := c.configExportSpec(env, cd.Base)
			return []wizard.Action{{
				Summary: exportSummary(cd.Addr, spec, dir) + fmt.Sprintf("; this server's part (admin groups of cn=%s, ou=%s whose nsConfigRoot is %s) recorded for backout",
					c.Answers.FullMachineName, c.adminDomain(), c.Answers.ServerRoot),
				Idempotent: true,
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					conn, cd, err := c.dialConfigDir(ctx, env)
					if err != nil {
						if reason, ok := c.Answers.Waivers[FindingConfigDirUnreachable]; ok {
							return waivedConfigExport(FindingConfigDirUnreachable, reason, err).Do(ctx, r)
						}
						return err
					}
					defer conn.Close()
					res, err := c.exportOne(ctx, env, conn, cd.Addr, spec, dir, r)
					if err != nil {
						if reason, ok := c.Answers.Waivers[FindingConfigDirUnreachable]; ok && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
							return waivedConfigExport(FindingConfigDirUnreachable, reason, err).Do(ctx, r)
						}
						return err
					}
					es, err := readLDIF(res.Path)
					if err != nil {
						return err
					}
					d := configExportData{exportData: exportData{Result: res, ServerCount: res.Entries}, Base: cd.Base, ServerRoot: c.Answers.ServerRoot, Host: c.Answers.FullMachineName, Domain: c.adminDomain()}
					d.Roots = serverPart(es, d.Base, d.Domain, d.Host, d.ServerRoot)
					r.Note += fmt.Sprintf("; this server's part: %s", strings.Join(d.Roots, "; "))
					if len(d.Roots) == 0 {
						r.Note += "none found (backout will change nothing in the configuration directory)"
					}
					return r.SetData(d)
				},
			}}, nil
		},
		Undo: c.configUndo,
		// In the backout procedure, after every service has started again
		// (the appendix's start ranks run 1-5): a Directory Server the
		// backout stops and starts, co-located in the server root, may be
		// the one holding the configuration directory.
		Backout:  wizard.BackoutKey{Stage: wizard.BackoutStart, Rank: 6},
		UndoText: "return this server's part of the configuration directory to the exported state (entries the installer added removed, changed ones put back, deleted ones added again); other servers' entries are never touched",
	}.Step()
}

// waivedConfigExport is the export an operator waived by the probe's
// finding: nothing is exported, so the backout has nothing to put back, and
// the receipt says why.
func waivedConfigExport(id, reason string, why error) wizard.Action {
	return wizard.Action{
		Summary:    fmt.Sprintf("no configuration directory export: %s waived (%s): %v", id, reason, why),
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			r.Note = fmt.Sprintf("not exported: %s waived (%s); the backout will not put the configuration directory back", id, reason)
			return nil
		},
	}
}

func readLDIF(path string) ([]ldif.Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ldif.ReadEntries(f, path, ldif.ReaderOptions{})
}

// normDN is a DN in a form equal DNs share: attribute types and values
// lower-cased, no spaces around separators (enough for the configuration
// directory's names; RFC 4517 distinguishedNameMatch would also fold by
// each attribute's own matching rule).
func normDN(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	var rdns []string
	for _, r := range p.RDNs {
		var avas []string
		for _, a := range r.Attributes {
			avas = append(avas, strings.ToLower(a.Type)+"="+ldap.EscapeDN(strings.ToLower(a.Value)))
		}
		rdns = append(rdns, strings.Join(avas, "+"))
	}
	return strings.Join(rdns, ",")
}

// under says whether dn (normalised) is root or below it.
func under(dn, root string) bool { return dn == root || strings.HasSuffix(dn, ","+root) }

func firstValue(e *ldif.Entry, name string) string {
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, name) && len(a.Values) > 0 {
			return a.Values[0]
		}
	}
	return ""
}

// serverPart applies the rule at the top of this file to entries and
// returns the roots of this server's part (normalised DNs, sorted).
func serverPart(entries []ldif.Entry, base, domain, host, serverRoot string) []string {
	hostDN := normDN(fmt.Sprintf("cn=%s,ou=%s,%s", ldap.EscapeDN(host), ldap.EscapeDN(domain), base))
	sr := filepath.Clean(serverRoot)
	var groups, sies []string
	for i := range entries {
		e := &entries[i]
		dn := normDN(e.DN)
		if !strings.HasSuffix(dn, ","+hostDN) {
			continue
		}
		if v := firstValue(e, "nsConfigRoot"); v != "" && filepath.Clean(v) == sr && strings.Count(dn, ",") == strings.Count(hostDN, ",")+1 {
			groups = append(groups, dn)
		}
		if v := firstValue(e, "serverRoot"); v != "" && filepath.Clean(v) == sr {
			sies = append(sies, dn)
		}
	}
	roots := slices.Clone(groups)
	for _, s := range sies {
		if !slices.ContainsFunc(roots, func(r string) bool { return under(s, r) }) {
			roots = append(roots, s)
		}
	}
	slices.Sort(roots)
	return slices.Compact(roots)
}
