package steps

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"mswizard/wizard"
)

// rootDSESearcher is the part of *ldap.Conn the directory preflight uses.
type rootDSESearcher interface {
	Search(*ldap.SearchRequest) (*ldap.SearchResult, error)
}

// minNetscapeDS maps a Messaging Server version to the oldest Netscape Directory
// Server it works with: 5.2 ships Netscape Directory Server 4.16, and a 4.13
// must be upgraded first (seed 003, "Directory Server のアップグレード").
var minNetscapeDS = map[string]string{"5.2": "4.16"}

// directoryServer is what the root DSE says about the server (RFC 3045
// vendorName/vendorVersion; OpenLDAP publishes neither, but has configContext
// and the objectClass OpenLDAProotDSE).
type directoryServer struct {
	VendorName, VendorVersion string
	OpenLDAP                  bool
}

func (d directoryServer) String() string {
	switch {
	case d.OpenLDAP:
		return "OpenLDAP slapd"
	case d.VendorVersion != "" && d.VendorName != "":
		return d.VendorVersion + " (" + d.VendorName + ")"
	case d.VendorVersion != "":
		return d.VendorVersion
	case d.VendorName != "":
		return d.VendorName
	}
	return "an unidentified directory server"
}

// product splits vendorVersion "Netscape-Directory/4.13 B00.193.0237" into its
// product and version ("Netscape-Directory", "4.13").
func (d directoryServer) product() (name, version string) {
	f := strings.Fields(d.VendorVersion)
	if len(f) == 0 {
		return "", ""
	}
	name, version, _ = strings.Cut(f[0], "/")
	return name, version
}

func readRootDSE(s rootDSESearcher) (directoryServer, error) {
	res, err := s.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"vendorName", "vendorVersion", "configContext", "objectClass"}, nil))
	if err != nil {
		return directoryServer{}, fmt.Errorf("root dse: %w", err)
	}
	if len(res.Entries) == 0 {
		return directoryServer{}, errors.New("root dse: the server returned no entry")
	}
	e := res.Entries[0]
	d := directoryServer{VendorName: e.GetAttributeValue("vendorName"), VendorVersion: e.GetAttributeValue("vendorVersion")}
	for _, oc := range e.GetAttributeValues("objectClass") {
		if strings.EqualFold(oc, "OpenLDAProotDSE") {
			d.OpenLDAP = true
		}
	}
	if strings.EqualFold(e.GetAttributeValue("configContext"), "cn=config") && d.VendorName == "" {
		d.OpenLDAP = true
	}
	return d, nil
}

// olderVersion reports whether dotted version a is older than b, comparing each
// part as a number (4.13 < 4.16 < 5.1).
func olderVersion(a, b string) (bool, error) {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		var err error
		if i < len(as) {
			if x, err = strconv.Atoi(as[i]); err != nil {
				return false, fmt.Errorf("version %q: %w", a, err)
			}
		}
		if i < len(bs) {
			if y, err = strconv.Atoi(bs[i]); err != nil {
				return false, fmt.Errorf("version %q: %w", b, err)
			}
		}
		if x != y {
			return x < y, nil
		}
	}
	return false, nil
}

// dsUpgradeProcedure is the appendix's separate Directory Server upgrade, which
// must be done by hand before the Messaging Server upgrade (seed 003,
// "Directory Server のアップグレード" steps 1-4).
const dsUpgradeProcedure = "upgrade the Directory Server first, as root, by the appendix's separate procedure: " +
	"(1) run the new version's setup -k for the Directory Server in the same server root as the existing instance " +
	"(e.g. /usr/iplanet/server5/slapd-budgie/setup -k), once for each Directory Server instance; " +
	"(2) when asked for components choose 1 (Netscape Server Products Core Components), 2 (Netscape Directory Suite) " +
	"and 3 (Administration Services), not 4 (Messaging Server Components); " +
	"(3) save the install.inf that setup -k writes (DIRSERVER-ROOT/setup/install.inf); " +
	"(4) run ims_dssetup.pl to prepare the directory for Messaging Server; then rerun mswizard upgrade"

// judgeDirectory turns what the root DSE says into the preflight's finding for
// a Messaging Server target version.
func judgeDirectory(d directoryServer, target string) wizard.Finding {
	ok := func(msg string) wizard.Finding {
		return wizard.Finding{ID: "PRE-DS-000", Severity: wizard.Info, Message: msg}
	}
	if d.OpenLDAP {
		return ok(fmt.Sprintf("the user directory is %s, not a Netscape/iPlanet Directory Server: no Directory Server upgrade applies; directory/schema adds what %s needs", d, target))
	}
	name, version := d.product()
	lname := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lname, "netscape-directory"):
		min, known := minNetscapeDS[target]
		if !known {
			return wizard.Finding{ID: "PRE-DS-003", Severity: wizard.Warning,
				Message:     fmt.Sprintf("the user directory is %s; the wizard does not know which Directory Server Messaging Server %s needs", d, target),
				Remediation: "check the new version's installation guide for its Directory Server version"}
		}
		older, err := olderVersion(version, min)
		if err != nil {
			return wizard.Finding{ID: "PRE-DS-003", Severity: wizard.Warning,
				Message:     fmt.Sprintf("the user directory is %s, whose version cannot be read (%v); Messaging Server %s needs Netscape Directory Server %s or later", d, err, target, min),
				Remediation: "check the Directory Server's version by hand; if older than " + min + ", " + dsUpgradeProcedure}
		}
		if older {
			return wizard.Finding{ID: "PRE-DS-001", Severity: wizard.Inhibitor,
				Message:     fmt.Sprintf("the user directory is %s; Messaging Server %s ships Netscape Directory Server %s and needs it first", d, target, min),
				Remediation: dsUpgradeProcedure}
		}
		return ok(fmt.Sprintf("the user directory is %s, at least the Netscape Directory Server %s that Messaging Server %s needs", d, min, target))
	case name != "":
		// iPlanet, Sun ONE, Sun Java System, 389, Fedora and Red Hat Directory
		// Servers are the 4.x line's successors: no Directory Server upgrade.
		return ok(fmt.Sprintf("the user directory is %s, a successor of Netscape Directory Server 4.x: no Directory Server upgrade applies", d))
	}
	return wizard.Finding{ID: "PRE-DS-003", Severity: wizard.Warning,
		Message:     fmt.Sprintf("the user directory does not say what it is (no vendorVersion in its root DSE; found %s)", d),
		Remediation: "check by hand that it is Netscape Directory Server " + minNetscapeDS["5.2"] + " or later, an iPlanet/Sun/389 Directory Server or OpenLDAP"}
}

// DirectoryVersion is preflight/directory-version: when the target ships a
// newer Directory Server than the one in use, the Directory Server is upgraded
// first by its own procedure, and the Messaging Server upgrade must not start
// (seed 003, "Directory Server のアップグレード").
func DirectoryVersion(c *Config) wizard.Step {
	return wizard.Phase{ID: "preflight/directory-version", Title: "Directory Server version", Check: findingsRanFirst,
		Preflight: func(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
			unreachable := func(err error) []wizard.Finding {
				return []wizard.Finding{{ID: "PRE-DS-002", Severity: wizard.Inhibitor,
					Message:     fmt.Sprintf("cannot read the user directory at %s: %v", c.Answers.LDAPAddress(), err),
					Remediation: "start the Directory Server (it must stay up during the upgrade) and check UserDirectoryLdapURL, UserDirectoryAdminID and its password"}}
			}
			if c.Directory == nil {
				return unreachable(errors.New("no directory connection configured")), nil
			}
			conn, err := c.Directory.DialLDAP(ctx)
			if err != nil {
				return unreachable(err), nil
			}
			defer conn.Close()
			s, ok := conn.(rootDSESearcher)
			if !ok {
				return nil, errors.New("directory: the connection cannot search")
			}
			d, err := readRootDSE(s)
			if err != nil {
				return unreachable(err), nil
			}
			return []wizard.Finding{judgeDirectory(d, c.Answers.TargetVersion)}, nil
		},
	}.Step()
}
