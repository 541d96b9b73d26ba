package answers

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Key documents one key of the answers file; the table drives validation, the
// template and the README's reference.
type Key struct {
	Section  string
	Name     string
	Meaning  string
	Default  string // "" when none
	Example  string // shown in the template when there is no default
	Required bool
	Multi    bool // may repeat
	Secret   bool // a credential: may instead be given as NameFile = path to a 0600 file
	Choices  []string
}

// Sections of the answers file.
const (
	General         = "General"
	Wiz             = "Wizard"
	MessagingServer = "MessagingServer"
)

// Keys lists every key the wizard reads. [General] is the product installer's own
// section (FORMATS.md §1.2); [Wizard] is ours. Other sections ([MessagingServer],
// [slapd], [admin], ...) pass through to the installer untouched.
var Keys = []Key{
	{Section: General, Name: "FullMachineName", Meaning: "fully qualified host name of this server", Required: true, Example: "budgie.siroe.com"},
	{Section: General, Name: "SuiteSpotUserID", Meaning: "user the servers run as", Default: "nobody"},
	{Section: General, Name: "SuiteSpotGroup", Meaning: "group the servers run as", Default: "nobody"},
	{Section: General, Name: "ServerRoot", Meaning: "the messaging server root (seed 004: one instance per server root)", Required: true, Example: "/usr/iplanet/server5"},
	{Section: General, Name: "AdminDomain", Meaning: "administration domain", Example: "siroe.com"},
	{Section: General, Name: "ConfigDirectoryLdapURL", Meaning: "configuration directory, ldap://host:port/o=NetscapeRoot", Example: "ldap://ldap.siroe.com:389/o=NetscapeRoot"},
	{Section: General, Name: "ConfigDirectoryAdminID", Meaning: "configuration directory administrator", Example: "admin"},
	{Section: General, Name: "ConfigDirectoryAdminPwd", Meaning: "its password", Secret: true},
	{Section: General, Name: "UserDirectoryLdapURL", Meaning: "user/group directory, ldap://host:port/SUFFIX (or ldaps://); the suffix is the user suffix the exports search", Required: true, Example: "ldap://ldap.siroe.com:389/o=siroe.com"},
	{Section: General, Name: "UserDirectoryAdminID", Meaning: "bind DN for the exports and the schema preparation", Required: true, Example: "cn=Directory Manager"},
	{Section: General, Name: "UserDirectoryAdminPwd", Meaning: "its password", Secret: true, Required: true},
	{Section: General, Name: "Components", Meaning: "installer components (passed through)"},

	{Section: Wiz, Name: "StateDir", Meaning: "where the journal, logs, reports and LDIF exports of this run live (one run per state directory; a relative path is taken from this file's directory)", Required: true, Example: "/var/opt/mswizard/state"},
	{Section: Wiz, Name: "BackupDir", Meaning: "where the server-root, queue and store archives go, named for their run; must not be inside the server root (a relative path is taken from this file's directory)", Required: true, Example: "/backup/mswizard"},
	{Section: Wiz, Name: "Instance", Meaning: "messaging instance name: the server root holds msg-INSTANCE", Required: true, Example: "budgie"},
	{Section: Wiz, Name: "Installer", Meaning: "the new version's setup program, run as `setup -k` on a pseudo-terminal, its prompts answered from this file (appendix C); `setup -s -f FILE` with InstallerMode = silent", Required: true, Example: "/cdrom/ims52/setup"},
	{Section: Wiz, Name: "InstallerMode", Meaning: "interactive: `setup -k` answered through a pseudo-terminal, as appendix C documents; silent: `setup -s -f FILE`, only for media whose installer supports a silent upgrade (this file then carries the installer's own silent keys)", Default: "interactive", Choices: []string{"interactive", "silent"}},
	{Section: Wiz, Name: "DirectoryUpgraded", Meaning: "the Directory Server in this server root was already upgraded: the installer's components are then 1, 3, 4, else its default 1, 2, 3, 4 (appendix C step 5)", Default: "no", Choices: []string{"yes", "no"}},
	{Section: Wiz, Name: "InstallerAnswer", Meaning: "an answer to an installer prompt the documentation does not list: TEXT | ANSWER (TEXT from the prompt's last line, as the stopped run showed it; an empty ANSWER is Enter)", Multi: true, Example: "Do you agree to the license terms? | yes"},
	{Section: Wiz, Name: "InstallerPromptTimeout", Meaning: "how long the installer may wait at a prompt no answer covers before the run stops and shows it", Default: "30s"},
	{Section: Wiz, Name: "InstallerQuietTimeout", Meaning: "how long the installer may print nothing at all before the run stops as at an unknown prompt (exit 3, its last lines shown): a wait for input that does not look like a prompt, never waited out until the command's timeout kills the installer", Default: "10m"},
	{Section: Wiz, Name: "NSServerCfg", Meaning: "the node's list of server roots, one per line (Sun Cluster 2.2 iMS data service guide: /etc/nsserver.cfg); the preflight checks that ServerRoot is listed there", Default: "/etc/nsserver.cfg"},
	{Section: Wiz, Name: "InstalledVersion", Meaning: "the version installed now", Default: "5.1"},
	{Section: Wiz, Name: "TargetVersion", Meaning: "the version the installer brings", Default: "5.2"},
	{Section: Wiz, Name: "PristineDefaults", Meaning: "directory of the installed version's vendor default config (config/, imta/config/, html/) for the three-way merge; empty for a two-way diff", Example: "/cdrom/ims52/payload/defaults-5.1"},
	{Section: Wiz, Name: "StoreAction", Meaning: "how the message store is kept out of the upgrade: move it aside, or umount it (appendix C, backup step 5)", Default: "move", Choices: []string{"move", "umount"}},
	{Section: Wiz, Name: "Regime", Meaning: "how services are controlled", Default: "plain", Choices: RegimeNames()},
	{Section: Wiz, Name: "ServiceDir", Meaning: "daemontools: directory holding one service directory per messaging service", Example: "/service"},
	{Section: Wiz, Name: "ClusterBin", Meaning: "directory of the cluster commands (hareg, scswitch, hares, hagrp)", Example: "/opt/SUNWcluster/bin"},
	{Section: Wiz, Name: "ClusterResource", Meaning: "Sun Cluster 3 / Veritas: the messaging resource", Example: "ims-rs"},
	{Section: Wiz, Name: "ClusterGroup", Meaning: "Sun Cluster 3 / Veritas: the resource group / service group", Example: "iMS5"},
	{Section: Wiz, Name: "ClusterSystem", Meaning: "Veritas: the system (-sys) the group runs on", Example: "node1"},
	{Section: Wiz, Name: "HaregService", Meaning: "Sun Cluster 2.2: the data service registered with hareg", Default: "iMS50"},
	{Section: Wiz, Name: "IPResource", Meaning: "Veritas: the logical IP resource", Example: "ims-ip"},
	{Section: Wiz, Name: "MountResource", Meaning: "Veritas: the shared mount resource", Example: "ims-mount"},
	{Section: Wiz, Name: "ClusterNodes", Meaning: "Sun Cluster 3: the cluster's nodes, space-separated; each needs the SUNWscims agent package after the upgrade (appendix C), an operator action confirmed before the resource is enabled again", Example: "node1 node2"},
	{Section: Wiz, Name: "WebServerRoot", Meaning: "the appendix's webserver-root when the iPlanet Web Server has its own root (not ServerRoot): its https-* instances are stopped before the Messaging Server and started after it, and backout stops them first and starts them last (appendix C); empty: no web server outside the server root", Example: "/usr/iplanet/servers"},
	{Section: Wiz, Name: "DelegatedAdminRoot", Meaning: "iPlanet Delegated Administrator's install directory (DelegatedAdmin_root, holding nda/classes/netscape/nda/servlet/resource.properties); it is stopped first and started last (appendix C); empty: not installed", Example: "/usr/iplanet/nda"},
	{Section: Wiz, Name: "DelegatedAdminInstance", Meaning: "the web server instance Delegated Administrator's servlets run in, under WebServerRoot (its https-NAME/stop and start control Delegated Administrator); required with DelegatedAdminRoot", Example: "https-da.siroe.com"},
	{Section: Wiz, Name: "Export", Meaning: "an LDIF export: NAME | BASE | SCOPE(base|one|sub) | FILTER | ATTRS(comma list or *) | FILE (DATE is replaced by YYYYMMDD); default: the appendix's ug and pab exports", Multi: true, Example: "ug | o=siroe.com | sub | (objectclass=inetlocalmailrecipient) | * | DATE.ug.ldif"},
	{Section: Wiz, Name: "ConfigExport", Meaning: "the configuration directory's export, in the Export format; default: the whole suffix of ConfigDirectoryLdapURL, (objectclass=*), to DATE.config.ldif", Example: "config | o=NetscapeRoot | sub | (objectclass=*) | * | DATE.config.ldif"},
	{Section: Wiz, Name: "PABSuffix", Meaning: "personal address book suffix exported to DATE.pab.ldif", Default: "o=pab"},
	{Section: Wiz, Name: "LDAPCAFile", Meaning: "CA certificate file for ldaps:// and StartTLS", Example: "/etc/ssl/certs/ca.pem"},
	{Section: Wiz, Name: "LDAPStartTLS", Meaning: "upgrade ldap:// connections with StartTLS", Default: "no", Choices: []string{"yes", "no"}},
	{Section: Wiz, Name: "LDAPInsecureSkipVerify", Meaning: "skip TLS certificate checks (never on production)", Default: "no", Choices: []string{"yes", "no"}},
	{Section: Wiz, Name: "SchemaAdminID", Meaning: "OpenLDAP: the DN that may write schema (the config database's rootDN, slapd-config(5)); empty binds as UserDirectoryAdminID, as 389/iPlanet need", Example: "cn=config"},
	{Section: Wiz, Name: "SchemaAdminPwd", Meaning: "its password", Secret: true},
	{Section: Wiz, Name: "LDAPTimeout", Meaning: "bound on any one LDAP operation", Default: "60s"},
	{Section: Wiz, Name: "ConfigMerge", Meaning: "what to do with an operator customization when the new version's file differs", Default: "reapply", Choices: []string{"reapply", "keep-new", "ask"}},
	{Section: Wiz, Name: "ConfigDecision", Meaning: "a recorded merge decision, replayed on the HA peer: FILE KEY reapply|keep-new", Multi: true, Example: "config/local.conf service.imap.port reapply"},
	{Section: Wiz, Name: "Confirm", Meaning: "answer yes to every confirmation (points of no return, backout) in batch mode", Default: "no", Choices: []string{"yes", "no"}},
	{Section: Wiz, Name: "Confirmed", Meaning: "an operator action done by hand, named by its step (post/web-server-upgrade, post/delegated-admin-upgrade, post/sc3-agent, post/veritas-chapter4): a batch run goes on past it (Confirm = yes or --yes confirms them all)", Multi: true, Example: "post/web-server-upgrade"},
	{Section: Wiz, Name: "Waive", Meaning: "waive a preflight inhibitor: ID reason (journaled with the finding)", Multi: true, Example: "PRE-DISK-001 backups go to a volume checked by hand"},
	{Section: Wiz, Name: "StopTimeout", Meaning: "bound on one stop command and on the process going away", Default: "120s"},
	{Section: Wiz, Name: "StartTimeout", Meaning: "bound on one start command and on its port answering", Default: "300s"},
	{Section: Wiz, Name: "QueueCheckWindow", Meaning: "how long post/queue-check watches the queue drain", Default: "30s"},
	{Section: Wiz, Name: "QueueCheckInterval", Meaning: "how often it samples", Default: "2s"},
	{Section: Wiz, Name: "MaxQueueAttempts", Meaning: "delivery attempts over which a message counts as stuck", Default: "10"},
	{Section: Wiz, Name: "MaxQueueAge", Meaning: "age over which a queued message counts as stuck", Default: "24h"},
	{Section: Wiz, Name: "MaxLogErrors", Meaning: "error records (R K J X Y) allowed in mail.log_current after the restart", Default: "0"},
	{Section: Wiz, Name: "ProbeRecipient", Meaning: "who the mail-flow probe (baseline/mail, post/mail-probe) is sent to by SMTP", Default: "postmaster"},
	{Section: Wiz, Name: "ProbeTimeout", Meaning: "how long the probe waits for its enqueue and delivery records in mail.log_current", Default: "60s"},

	// The installer's own section: the service administrator the upgrade asks
	// for again when it is not the default (appendix C step 8).
	{Section: MessagingServer, Name: "ServiceAdminID", Meaning: "the service administrator chosen at the first installation; the installer asks for it again on upgrade when it is not ServiceAdmin (appendix C step 8)", Default: "ServiceAdmin"},
	{Section: MessagingServer, Name: "ServiceAdminPwd", Meaning: "its password, typed into the installer's terminal only", Secret: true},
}

// multiInProduct lists keys documented as repeatable in the product sections
// (FORMATS.md §1.2: ConfigFile and SchemaFile in setup-ds files).
var multiInProduct = map[string]bool{"ConfigFile": true, "SchemaFile": true}

func keyFor(section, name string) (Key, bool) {
	for _, k := range Keys {
		if k.Section == section && k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// Answers is a validated answers file.
type Answers struct {
	File *File
	Path string

	FullMachineName, SuiteSpotUserID, SuiteSpotGroup, ServerRoot, AdminDomain string
	ConfigDirectoryLdapURL, UserDirectoryLdapURL, UserDirectoryAdminID        string
	UserDirectoryAdminPwd, ConfigDirectoryAdminPwd, SchemaAdminPwd            Secret
	SchemaAdminID, ConfigDirectoryAdminID                                     string

	StateDir, BackupDir, Instance, Installer, InstalledVersion, TargetVersion string
	InstallerMode, ServiceAdminID                                             string
	ServiceAdminPwd                                                           Secret
	DirectoryUpgraded                                                         bool
	InstallerAnswers                                                          []string
	InstallerPromptTimeout, InstallerQuietTimeout                             time.Duration
	PristineDefaults, StoreAction, Regime, ServiceDir, NSServerCfg            string
	ClusterBin, ClusterResource, ClusterGroup, ClusterSystem, HaregService    string
	IPResource, MountResource                                                 string
	ClusterNodes                                                              []string
	WebServerRoot, DelegatedAdminRoot, DelegatedAdminInstance                 string
	Confirmed                                                                 []string
	Exports                                                                   []Export
	ConfigExport                                                              *Export // nil: the default
	PABSuffix, LDAPCAFile                                                     string
	LDAPStartTLS, LDAPInsecureSkipVerify, Confirm                             bool
	LDAPTimeout, StopTimeout, StartTimeout                                    time.Duration
	QueueCheckWindow, QueueCheckInterval, MaxQueueAge                         time.Duration
	MaxQueueAttempts, MaxLogErrors                                            int
	ProbeRecipient                                                            string
	ProbeTimeout                                                              time.Duration
	ConfigMerge                                                               string
	ConfigDecisions                                                           []string
	Waivers                                                                   map[string]string
}

// Export is one LDIF export.
type Export struct {
	Name, Base, Scope, Filter string
	Attributes                []string
	File                      string
}

// UserSuffix is the suffix of UserDirectoryLdapURL (the path of the URL).
func (a *Answers) UserSuffix() string {
	u := a.UserDirectoryLdapURL
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexByte(u, '/'); i >= 0 {
		s := u[i+1:]
		if j := strings.IndexByte(s, '?'); j >= 0 {
			s = s[:j]
		}
		return s
	}
	return ""
}

// LDAPAddress is UserDirectoryLdapURL without its suffix: scheme://host:port.
func (a *Answers) LDAPAddress() string {
	u := a.UserDirectoryLdapURL
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
		return u[:i+3+j]
	}
	return u
}

// Options for Load.
type LoadOptions struct {
	// SkipFiles leaves out checks that read other files (secret references, file
	// modes); the template test and `answers validate --syntax` use it.
	SkipFiles bool
}

// Load reads, parses and validates an answers file, reporting every problem at once.
func Load(path string, o LoadOptions) (*Answers, error) {
	// The file's own path is pinned absolute: relative paths inside it resolve
	// against its directory, wherever the wizard is run from.
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	data, err := readAnswers(path)
	if err != nil {
		// An answers file that cannot be read is an answers-file error (exit 2),
		// like one that cannot be parsed.
		return nil, Problems{{File: path, Msg: err.Error()}}
	}
	f, perr := Parse(filepath.Base(path), data)
	probs := Problems{}
	if perr != nil {
		probs = append(probs, asProblems(perr)...)
	}
	a, verr := validate(f, filepath.Dir(path), o)
	if verr != nil {
		probs = append(probs, asProblems(verr)...)
	}
	if !o.SkipFiles && len(probs) == 0 {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if inline := inlineSecrets(f); len(inline) > 0 {
				probs = append(probs, Problem{File: filepath.Base(path), Msg: fmt.Sprintf(
					"holds secrets (%s) but is readable by group or others (mode %04o); run: chmod 600 %s (or move the secrets to 0600 files: KEYFile = /path)",
					strings.Join(inline, ", "), fi.Mode().Perm(), path)})
			}
		}
	}
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return nil, probs
	}
	a.Path = path
	return a, nil
}

// readAnswers reads the file, refusing what is not a regular file with a
// message that says what it is.
func readAnswers(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the answers file: %w", unwrapPath(err))
	}
	if fi.IsDir() {
		return nil, errors.New("is a directory, not an answers file; give the install.inf inside it")
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("is not a regular file (%s)", fi.Mode().Type())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the answers file: %w", unwrapPath(err))
	}
	return b, nil
}

// unwrapPath drops the path a *PathError repeats: the problem names the file.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func inlineSecrets(f *File) []string {
	var out []string
	for _, s := range f.Sections {
		for _, kv := range s.Keys {
			if isSecretName(kv.Key) && kv.Value != "" {
				out = append(out, kv.Key)
			}
		}
	}
	return out
}

// isSecretName says whether a key holds a credential, in our section or any
// product section (the installers' *Pwd keys).
func isSecretName(k string) bool {
	return strings.HasSuffix(k, "Pwd") || strings.HasSuffix(k, "PW") || strings.HasSuffix(k, "Password")
}

func validate(f *File, base string, o LoadOptions) (*Answers, error) {
	var probs Problems
	bad := func(line int, format string, a ...any) {
		probs = append(probs, Problem{File: f.Name, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	for _, s := range f.Sections {
		if s.Name != General && s.Name != Wiz {
			for _, want := range []string{General, Wiz} {
				if strings.EqualFold(s.Name, want) {
					bad(s.Line, "section [%s]: names are case-sensitive; did you mean [%s]?", s.Name, want)
				}
			}
		}
		seen := map[string]int{}
		for _, kv := range s.Keys {
			k, known := keyFor(s.Name, kv.Key)
			if s.Name == Wiz && !known && !isFileRef(Wiz, kv.Key) {
				msg := fmt.Sprintf("unknown key %q in [%s]", kv.Key, s.Name)
				if sug := suggest(kv.Key); sug != "" {
					msg += fmt.Sprintf("; did you mean %q?", sug)
				}
				bad(kv.Line, "%s", msg)
				continue
			}
			if first, dup := seen[kv.Key]; dup && !k.Multi && !multiInProduct[kv.Key] {
				bad(kv.Line, "duplicate key %q in [%s] (first at line %d); keep one", kv.Key, s.Name, first)
			}
			if _, ok := seen[kv.Key]; !ok {
				seen[kv.Key] = kv.Line
			}
			if len(k.Choices) > 0 && !contains(k.Choices, kv.Value) {
				bad(kv.Line, "%s = %q: must be one of %s", kv.Key, kv.Value, strings.Join(k.Choices, ", "))
			}
		}
	}
	a := &Answers{File: f, Waivers: map[string]string{}}
	get := func(k Key) (string, int) {
		s := f.Section(k.Section)
		if s == nil {
			return k.Default, 0
		}
		for _, kv := range s.Keys {
			if kv.Key == k.Name {
				return kv.Value, kv.Line
			}
		}
		return k.Default, 0
	}
	secret := func(k Key) Secret {
		v, line := get(k)
		ref, refLine := get(Key{Section: k.Section, Name: k.Name + "File"})
		switch {
		case v != "" && ref != "":
			bad(refLine, "%s and %sFile are both given (line %d); keep one", k.Name, k.Name, line)
		case ref != "":
			if o.SkipFiles {
				return NewSecret("(from " + ref + ")")
			}
			p := ref
			if !filepath.IsAbs(p) {
				p = filepath.Join(base, p)
			}
			fi, err := os.Stat(p)
			if err != nil {
				bad(refLine, "%sFile: %v", k.Name, err)
				return Secret{}
			}
			if fi.Mode().Perm()&0o077 != 0 {
				bad(refLine, "%sFile %s is readable by group or others (mode %04o); run: chmod 600 %s", k.Name, ref, fi.Mode().Perm(), p)
				return Secret{}
			}
			b, err := os.ReadFile(p)
			if err != nil {
				bad(refLine, "%sFile: %v", k.Name, err)
				return Secret{}
			}
			return NewSecret(strings.TrimRight(string(b), "\r\n"))
		}
		return NewSecret(v)
	}
	for _, k := range Keys {
		if !k.Required {
			continue
		}
		v, _ := get(k)
		if k.Secret {
			ref, _ := get(Key{Section: k.Section, Name: k.Name + "File"})
			v += ref
		}
		if v == "" {
			hint := ""
			if k.Secret {
				hint = fmt.Sprintf(" (or %sFile = /path/to/0600-file)", k.Name)
			}
			sec := f.Section(k.Section)
			line := 0
			if sec != nil {
				line = sec.Line
			}
			bad(line, "missing required key %q in [%s]%s: %s", k.Name, k.Section, hint, k.Meaning)
		}
	}
	str := func(sec, name string) string { k, _ := keyFor(sec, name); v, _ := get(k); return v }
	dur := func(name string) time.Duration {
		k, _ := keyFor(Wiz, name)
		v, line := get(k)
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			bad(line, "%s = %q: not a duration (write e.g. 30s, 5m, 24h)", name, v)
		}
		return d
	}
	num := func(name string) int {
		k, _ := keyFor(Wiz, name)
		v, line := get(k)
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			bad(line, "%s = %q: not a whole number", name, v)
		}
		return n
	}
	yes := func(name string) bool { return str(Wiz, name) == "yes" }

	a.FullMachineName = str(General, "FullMachineName")
	a.SuiteSpotUserID = str(General, "SuiteSpotUserID")
	a.SuiteSpotGroup = str(General, "SuiteSpotGroup")
	a.ServerRoot = str(General, "ServerRoot")
	a.AdminDomain = str(General, "AdminDomain")
	a.ConfigDirectoryLdapURL = str(General, "ConfigDirectoryLdapURL")
	a.UserDirectoryLdapURL = str(General, "UserDirectoryLdapURL")
	a.UserDirectoryAdminID = str(General, "UserDirectoryAdminID")
	a.ConfigDirectoryAdminID = str(General, "ConfigDirectoryAdminID")
	for _, k := range Keys {
		if k.Secret && k.Name == "UserDirectoryAdminPwd" {
			a.UserDirectoryAdminPwd = secret(k)
		}
		if k.Secret && k.Name == "ConfigDirectoryAdminPwd" {
			a.ConfigDirectoryAdminPwd = secret(k)
		}
		if k.Secret && k.Name == "SchemaAdminPwd" {
			a.SchemaAdminPwd = secret(k)
		}
		if k.Secret && k.Name == "ServiceAdminPwd" {
			a.ServiceAdminPwd = secret(k)
		}
	}
	// Paths the wizard reads from [Wizard] are made absolute against the
	// answers file's directory and cleaned, so a rerun from another directory
	// finds the same journal and the same backups (FAULTS.md C8).
	path := func(name string) string {
		v := str(Wiz, name)
		if v == "" {
			return ""
		}
		if !filepath.IsAbs(v) {
			v = filepath.Join(base, v)
		}
		return filepath.Clean(v)
	}
	if a.ServerRoot != "" && !filepath.IsAbs(a.ServerRoot) {
		// The installer reads ServerRoot from its own copy and would resolve a
		// relative one against its own working directory: refused, not guessed.
		_, line := get(Key{Section: General, Name: "ServerRoot"})
		bad(line, "ServerRoot = %q: must be an absolute path (the installer reads it too)", a.ServerRoot)
	}
	if a.ServerRoot != "" {
		a.ServerRoot = filepath.Clean(a.ServerRoot)
	}
	a.StateDir = path("StateDir")
	a.BackupDir = path("BackupDir")
	a.Instance = str(Wiz, "Instance")
	a.Installer = path("Installer")
	a.InstalledVersion = str(Wiz, "InstalledVersion")
	a.TargetVersion = str(Wiz, "TargetVersion")
	a.InstallerMode = str(Wiz, "InstallerMode")
	a.DirectoryUpgraded = yes("DirectoryUpgraded")
	a.InstallerPromptTimeout = dur("InstallerPromptTimeout")
	a.InstallerQuietTimeout = dur("InstallerQuietTimeout")
	if a.InstallerQuietTimeout > 0 && a.InstallerQuietTimeout <= a.InstallerPromptTimeout {
		_, line := get(Key{Section: Wiz, Name: "InstallerQuietTimeout"})
		bad(line, "InstallerQuietTimeout = %s: must be longer than InstallerPromptTimeout (%s), or a prompt would be stopped as silence", a.InstallerQuietTimeout, a.InstallerPromptTimeout)
	}
	a.ServiceAdminID = str(MessagingServer, "ServiceAdminID")
	a.PristineDefaults = path("PristineDefaults")
	a.NSServerCfg = path("NSServerCfg")
	a.StoreAction = str(Wiz, "StoreAction")
	a.Regime = str(Wiz, "Regime")
	a.ServiceDir = path("ServiceDir")
	a.ClusterBin = path("ClusterBin")
	a.ClusterResource = str(Wiz, "ClusterResource")
	a.ClusterGroup = str(Wiz, "ClusterGroup")
	a.ClusterSystem = str(Wiz, "ClusterSystem")
	a.HaregService = str(Wiz, "HaregService")
	a.IPResource = str(Wiz, "IPResource")
	a.MountResource = str(Wiz, "MountResource")
	a.ClusterNodes = strings.Fields(str(Wiz, "ClusterNodes"))
	a.WebServerRoot = path("WebServerRoot")
	a.DelegatedAdminRoot = path("DelegatedAdminRoot")
	a.DelegatedAdminInstance = str(Wiz, "DelegatedAdminInstance")
	a.PABSuffix = str(Wiz, "PABSuffix")
	a.LDAPCAFile = path("LDAPCAFile")
	a.SchemaAdminID = str(Wiz, "SchemaAdminID")
	a.LDAPStartTLS = yes("LDAPStartTLS")
	a.LDAPInsecureSkipVerify = yes("LDAPInsecureSkipVerify")
	a.Confirm = yes("Confirm")
	a.ConfigMerge = str(Wiz, "ConfigMerge")
	a.LDAPTimeout = dur("LDAPTimeout")
	a.StopTimeout = dur("StopTimeout")
	a.StartTimeout = dur("StartTimeout")
	a.QueueCheckWindow = dur("QueueCheckWindow")
	a.QueueCheckInterval = dur("QueueCheckInterval")
	a.MaxQueueAge = dur("MaxQueueAge")
	a.MaxQueueAttempts = num("MaxQueueAttempts")
	a.MaxLogErrors = num("MaxLogErrors")
	a.ProbeRecipient = str(Wiz, "ProbeRecipient")
	a.ProbeTimeout = dur("ProbeTimeout")
	w := f.Section(Wiz)
	for _, kv := range w.All("ConfigDecision") {
		if len(strings.Fields(kv.Value)) != 3 {
			bad(kv.Line, "ConfigDecision = %q: write FILE KEY reapply|keep-new", kv.Value)
		}
		a.ConfigDecisions = append(a.ConfigDecisions, kv.Value)
	}
	for _, kv := range w.All("InstallerAnswer") {
		if !strings.Contains(kv.Value, "|") || strings.TrimSpace(kv.Value[:strings.LastIndex(kv.Value, "|")]) == "" {
			bad(kv.Line, "InstallerAnswer = %q: write the prompt's text, \"|\" and the answer, e.g. Do you agree to the license terms? | yes", kv.Value)
			continue
		}
		a.InstallerAnswers = append(a.InstallerAnswers, kv.Value)
	}
	for _, kv := range w.All("Confirmed") {
		if strings.TrimSpace(kv.Value) == "" || strings.ContainsAny(kv.Value, " \t") {
			bad(kv.Line, "Confirmed = %q: name one operator action by its step, e.g. post/web-server-upgrade", kv.Value)
			continue
		}
		a.Confirmed = append(a.Confirmed, kv.Value)
	}
	if a.DelegatedAdminRoot != "" && !strings.HasPrefix(a.DelegatedAdminInstance, "https-") {
		_, line := get(Key{Section: Wiz, Name: "DelegatedAdminRoot"})
		bad(line, "DelegatedAdminRoot is set: DelegatedAdminInstance must name the web server instance it runs in (https-NAME under WebServerRoot)")
	}
	if a.DelegatedAdminInstance != "" && a.WebServerRoot == "" {
		_, line := get(Key{Section: Wiz, Name: "DelegatedAdminInstance"})
		bad(line, "DelegatedAdminInstance = %q: set WebServerRoot, the web server root that holds it", a.DelegatedAdminInstance)
	}
	for _, kv := range w.All("Waive") {
		id, reason, _ := strings.Cut(kv.Value, " ")
		if id == "" || strings.TrimSpace(reason) == "" {
			bad(kv.Line, "Waive = %q: write the finding ID and a reason, e.g. PRE-DISK-001 checked by hand", kv.Value)
			continue
		}
		a.Waivers[id] = strings.TrimSpace(reason)
	}
	for _, kv := range w.All("Export") {
		e, err := parseExport(kv.Value)
		if err != nil {
			bad(kv.Line, "Export: %v", err)
			continue
		}
		a.Exports = append(a.Exports, e)
	}
	if k, _ := keyFor(Wiz, "ConfigExport"); k.Name != "" {
		if v, line := get(k); v != "" {
			if e, err := parseExport(v); err != nil {
				bad(line, "ConfigExport: %v", err)
			} else {
				a.ConfigExport = &e
			}
		}
	}
	if len(a.Exports) == 0 && a.UserDirectoryLdapURL != "" {
		a.Exports = DefaultExports(a.UserSuffix(), a.PABSuffix)
	}
	if a.UserDirectoryLdapURL != "" && !strings.HasPrefix(a.UserDirectoryLdapURL, "ldap://") && !strings.HasPrefix(a.UserDirectoryLdapURL, "ldaps://") {
		_, line := get(Key{Section: General, Name: "UserDirectoryLdapURL"})
		bad(line, "UserDirectoryLdapURL = %q: must start with ldap:// or ldaps://", a.UserDirectoryLdapURL)
	}
	if a.ServerRoot != "" && a.BackupDir != "" && within(a.BackupDir, a.ServerRoot) {
		_, line := get(Key{Section: Wiz, Name: "BackupDir"})
		bad(line, "BackupDir %s is inside ServerRoot %s: the server-root backup would contain itself; choose another volume", a.BackupDir, a.ServerRoot)
	}
	if msg := MissingForRegime(a.Regime, a.RegimeValue); msg != "" {
		bad(w.Line, "%s", msg)
	}
	if len(probs) > 0 {
		return a, probs
	}
	return a, nil
}

func isFileRef(section, key string) bool {
	name, ok := strings.CutSuffix(key, "File")
	if !ok {
		return false
	}
	k, known := keyFor(section, name)
	return known && k.Secret
}

func within(p, root string) bool {
	rel, err := filepath.Rel(filepath.Clean(root), filepath.Clean(p))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// DefaultExports are the appendix's two ldapsearch backups (seed 003, backup step
// 4): users and groups to DATE.ug.ldif, personal address books to DATE.pab.ldif.
func DefaultExports(userSuffix, pabSuffix string) []Export {
	return []Export{
		{Name: "ug", Base: userSuffix, Scope: "sub", Filter: "(objectclass=inetlocalmailrecipient)", File: "DATE.ug.ldif"},
		{Name: "pab", Base: pabSuffix, Scope: "sub", Filter: "(objectclass=*)", File: "DATE.pab.ldif"},
	}
}

func parseExport(v string) (Export, error) {
	parts := strings.Split(v, "|")
	if len(parts) != 6 {
		return Export{}, fmt.Errorf("%q: want 6 fields NAME | BASE | SCOPE | FILTER | ATTRS | FILE, have %d", v, len(parts))
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	e := Export{Name: parts[0], Base: parts[1], Scope: parts[2], Filter: parts[3], File: parts[5]}
	if !contains([]string{"base", "one", "sub"}, e.Scope) {
		return e, fmt.Errorf("scope %q: must be base, one or sub", e.Scope)
	}
	if !strings.HasPrefix(e.Filter, "(") || !strings.HasSuffix(e.Filter, ")") {
		return e, fmt.Errorf("filter %q: must be parenthesised, e.g. (objectclass=*)", e.Filter)
	}
	if parts[4] != "*" && parts[4] != "" {
		for _, a := range strings.Split(parts[4], ",") {
			e.Attributes = append(e.Attributes, strings.TrimSpace(a))
		}
	}
	if e.Name == "" || e.File == "" || strings.Contains(e.File, "/") {
		return e, fmt.Errorf("%q: NAME and a plain FILE name are required", v)
	}
	return e, nil
}

// suggest returns the known [Wizard] key closest to k, if close enough to be a typo.
func suggest(k string) string {
	best, bestD := "", 4
	for _, key := range Keys {
		if key.Section != Wiz {
			continue
		}
		if d := distance(strings.ToLower(k), strings.ToLower(key.Name)); d < bestD {
			best, bestD = key.Name, d
		}
	}
	return best
}

// distance is the Damerau-Levenshtein (optimal string alignment) distance.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// decisionKeys are the [Wizard] keys that record the operator's decisions about
// a run in progress (a merge conflict, a waived inhibitor, a confirmation, an
// answer to an installer prompt the documentation does not list), which
// the wizard itself asks them to add; they are not inputs the journal is pinned to.
var decisionKeys = map[string]bool{"ConfigDecision": true, "Waive": true, "Confirm": true, "Confirmed": true, "InstallerAnswer": true}

// Hash is the sha256 of the answers with every secret value left out, so a
// journal can pin its inputs without holding a credential. The decision keys are
// left out too: they answer the run's own questions (a config conflict, an
// inhibitor, a point of no return) and are added to the file while the run is in
// progress, as the run asks.
func (a *Answers) Hash() string {
	h := sha256.New()
	for _, s := range a.File.Sections {
		fmt.Fprintf(h, "[%s]\n", s.Name)
		for _, kv := range s.Keys {
			if s.Name == Wiz && decisionKeys[kv.Key] {
				continue
			}
			v := kv.Value
			if isSecretName(kv.Key) {
				v = redacted
			}
			fmt.Fprintf(h, "%s=%s\n", kv.Key, v)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// WriteTemplate writes a self-documenting install.inf: every key with its meaning
// and default, in the legacy syntax (like `dscreate create-template`).
func WriteTemplate(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# install.inf — answers for mswizard and the Messaging Server installer.\n")
	b.WriteString("# Syntax: legacy Netscape setup .inf; '#' starts a comment line; a value is\n")
	b.WriteString("# everything after the first '=' (trimmed); a trailing '\\' continues a line.\n")
	b.WriteString("# Secrets: KEY = value in a 0600 file, or KEYFile = /path/to/0600-file.\n")
	section := ""
	for _, k := range Keys {
		if k.Section != section {
			section = k.Section
			fmt.Fprintf(&b, "\n[%s]\n", section)
		}
		fmt.Fprintf(&b, "\n# %s: %s", k.Name, k.Meaning)
		if k.Required {
			b.WriteString(" (required)")
		}
		if len(k.Choices) > 0 {
			fmt.Fprintf(&b, "\n#   one of: %s", strings.Join(k.Choices, ", "))
		}
		if k.Default != "" {
			fmt.Fprintf(&b, "\n#   default: %s", k.Default)
		}
		if k.Multi {
			b.WriteString("\n#   may repeat")
		}
		b.WriteString("\n")
		switch {
		case k.Secret && k.Required:
			fmt.Fprintf(&b, "%sFile = /root/.mswizard/%s\n", k.Name, strings.ToLower(k.Name))
		case k.Secret:
			fmt.Fprintf(&b, "#%sFile = /root/.mswizard/%s\n", k.Name, strings.ToLower(k.Name))
		case k.Required:
			fmt.Fprintf(&b, "%s = %s\n", k.Name, k.Example)
		case k.Default != "":
			fmt.Fprintf(&b, "#%s = %s\n", k.Name, k.Default)
		default:
			fmt.Fprintf(&b, "#%s = %s\n", k.Name, k.Example)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
