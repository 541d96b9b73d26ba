package answers

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

const good = `[General]
FullMachineName= budgie.siroe.com
ServerRoot= /srv/server-root
UserDirectoryLdapURL= ldap://127.0.0.1:3890/o=siroe.com
UserDirectoryAdminID= cn=Directory Manager
UserDirectoryAdminPwd= p#ss;w0rd=

[MessagingServer]
Anything = passes through

[Wizard]
StateDir = /var/tmp/state
BackupDir = /backup
Instance = budgie
Installer = /cdrom/setup
`

func write(t *testing.T, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValueIsVerbatimAfterTheFirstEquals(t *testing.T) {
	a, err := Load(write(t, "install.inf", good, 0o600), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.UserDirectoryAdminPwd.Reveal(); got != "p#ss;w0rd=" {
		t.Fatalf("password = %q, want p#ss;w0rd=", got)
	}
	if a.UserSuffix() != "o=siroe.com" || a.LDAPAddress() != "ldap://127.0.0.1:3890" {
		t.Fatalf("suffix %q address %q", a.UserSuffix(), a.LDAPAddress())
	}
	if len(a.Exports) != 2 || a.Exports[0].File != "DATE.ug.ldif" || a.Exports[1].Base != "o=pab" {
		t.Fatalf("default exports = %+v", a.Exports)
	}
	if a.StoreAction != "move" || a.Regime != "plain" || a.MaxLogErrors != 0 {
		t.Fatalf("defaults not applied: %+v", a)
	}
}

func TestSyntaxVariantsAreAccepted(t *testing.T) {
	cases := []struct{ name, body string }{
		{"CRLF line ends", strings.ReplaceAll(good, "\n", "\r\n")},
		{"a UTF-8 BOM", "\xef\xbb\xbf" + good},
		{"key=value without spaces", strings.ReplaceAll(good, "Instance = budgie", "Instance=budgie")},
		{"comments and blank lines anywhere", "# top\n\n" + strings.ReplaceAll(good, "[Wizard]\n", "[Wizard]\n  # indented comment\n\n")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Load(write(t, "install.inf", c.body, 0o600), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if a.Instance != "budgie" || a.UserDirectoryAdminPwd.Reveal() != "p#ss;w0rd=" {
				t.Fatalf("got instance %q", a.Instance)
			}
		})
	}
}

func TestContinuationJoinsWithANewline(t *testing.T) {
	f, err := Parse("x.inf", []byte("[slapd]\nSchema = a \\\n  b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Section("slapd").Get("Schema"); v != "a \n  b" {
		t.Fatalf("value = %q", v)
	}
}

// Each case's error text is pinned in testdata/errors.golden.
func TestErrorsNameFileLineAndFix(t *testing.T) {
	cases := []struct{ name, body string }{
		{"unknown key in [Wizard] suggests the closest", strings.Replace(good, "BackupDir", "BackupDri", 1)},
		{"duplicate key is refused", good + "Instance = other\n"},
		{"multi-valued keys may repeat", good + "Waive = PRE-DISK-001 checked\nWaive = PRE-HA-001 single node\n"},
		{"missing required keys are all listed", "[General]\nFullMachineName = x\n[Wizard]\nStateDir = /s\n"},
		{"indented section header", strings.Replace(good, "[MessagingServer]", "  [MessagingServer]", 1)},
		{"line without equals", good + "garbage line\n"},
		{"key before the first section", "Instance = x\n" + good},
		{"override syntax inside a file", "slapd.ServerPort=389\n" + good},
		{"section names are case-sensitive", strings.Replace(good, "[Wizard]", "[wizard]", 1)},
		{"invalid UTF-8", good + "Instance2 = \xff\xfe\n"},
		{"bad choice", good + "StoreAction = copy\n"},
		{"bad duration", good + "StopTimeout = soon\n"},
		{"backup dir inside the server root", strings.Replace(good, "BackupDir = /backup", "BackupDir = /srv/server-root/bk", 1)},
		{"bad export", good + "Export = ug | o=x | deep | objectclass=* | * | a.ldif\n"},
		{"cluster regime needs its resources", good + "Regime = sc3\n"},
		{"the installer's quiet timeout must outlast its prompt timeout", good + "InstallerQuietTimeout = 20s\n"},
		{"bad quiet timeout", good + "InstallerQuietTimeout = ten minutes\n"},
	}
	var golden strings.Builder
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(write(t, "install.inf", c.body, 0o600), LoadOptions{})
			fmt.Fprintf(&golden, "== %s\n", c.name)
			if err != nil {
				fmt.Fprintf(&golden, "%s\n", err)
			} else {
				golden.WriteString("(valid)\n")
			}
			if c.name == "multi-valued keys may repeat" {
				if err != nil {
					t.Fatalf("valid file refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "install.inf:") {
					t.Errorf("problem does not name the file and line: %q", line)
				}
			}
		})
	}
	path := filepath.Join("testdata", "errors.golden")
	if *update {
		os.WriteFile(path, []byte(golden.String()), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if golden.String() != string(want) {
		t.Errorf("error messages differ from %s; run go test -update and review:\n%s", path, golden.String())
	}
}

func TestUnknownKeyMessage(t *testing.T) {
	_, err := Load(write(t, "install.inf", strings.Replace(good, "BackupDir", "BackupDri", 1), 0o600), LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), `unknown key "BackupDri" in [Wizard]; did you mean "BackupDir"?`) {
		t.Fatalf("err = %v", err)
	}
}

func TestSecretsInAReadableFileAreRefusedWithTheChmod(t *testing.T) {
	p := write(t, "install.inf", good, 0o644)
	_, err := Load(p, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+p) || !strings.Contains(err.Error(), "UserDirectoryAdminPwd") {
		t.Fatalf("err = %v", err)
	}
}

func TestSecretByReference(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "ldap.pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	body := strings.Replace(good, "UserDirectoryAdminPwd= p#ss;w0rd=", "UserDirectoryAdminPwdFile = "+pw, 1)
	p := filepath.Join(dir, "install.inf")
	os.WriteFile(p, []byte(body), 0o644) // no inline secret: a readable file is fine
	a, err := Load(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.UserDirectoryAdminPwd.Reveal() != "s3cret" {
		t.Fatalf("secret = %q", a.UserDirectoryAdminPwd.Reveal())
	}
	os.Chmod(pw, 0o640)
	if _, err := Load(p, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "chmod 600 "+pw) {
		t.Fatalf("readable secret file: err = %v", err)
	}
}

func TestSecretPrintsAsRedactedEverywhere(t *testing.T) {
	s := NewSecret("hunter2")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "pw", s)
	j, _ := json.Marshal(struct{ P Secret }{s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s), string(j), buf.String()} {
		if strings.Contains(out, "hunter2") || !strings.Contains(out, "REDACTED") {
			t.Errorf("leak or no REDACTED: %s", out)
		}
	}
}

func TestHashLeavesSecretsOut(t *testing.T) {
	a1, _ := Load(write(t, "install.inf", good, 0o600), LoadOptions{})
	a2, _ := Load(write(t, "install.inf", strings.Replace(good, "p#ss;w0rd=", "other", 1), 0o600), LoadOptions{})
	a3, _ := Load(write(t, "install.inf", strings.Replace(good, "budgie\n", "robin\n", 1), 0o600), LoadOptions{})
	if a1.Hash() != a2.Hash() {
		t.Error("hash depends on the password")
	}
	if a1.Hash() == a3.Hash() {
		t.Error("hash ignores a real change")
	}
}

func TestTemplateValidates(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTemplate(&b); err != nil {
		t.Fatal(err)
	}
	p := write(t, "install.inf", b.String(), 0o600)
	if _, err := Load(p, LoadOptions{SkipFiles: true}); err != nil {
		t.Fatalf("template does not validate:\n%v", err)
	}
	for _, k := range Keys {
		if !strings.Contains(b.String(), "# "+k.Name+": ") {
			t.Errorf("template does not document %s", k.Name)
		}
	}
}

func TestRealLegacySetupFilesParse(t *testing.T) {
	dir := filepath.Join("testdata", "legacy-setup-ds")
	files, _ := filepath.Glob(filepath.Join(dir, "*.inf"))
	if len(files) != 2 {
		t.Fatalf("want the 2 legacy samples in %s found %d", dir, len(files))
	}
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f, err := Parse(filepath.Base(p), b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if f.Section("General") == nil {
			t.Errorf("%s: no [General]", p)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "389ds-lib389-utils-docstring-silent.inf"))
	f, _ := Parse("x", b)
	if v, _ := f.Section("General").Get("ConfigDirectoryLdapURL"); v != "ldap://dir.example.com:389/o=NetscapeRoot" {
		t.Errorf("ConfigDirectoryLdapURL = %q", v)
	}
	if v, _ := f.Section("slapd").Get("Suffix"); v != "dc=example,dc=com" {
		t.Errorf("Suffix = %q", v)
	}
}

func TestTheInstallerQuietTimeoutDefaultsToTenMinutes(t *testing.T) {
	a, err := Load(write(t, "install.inf", good, 0o600), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.InstallerQuietTimeout != 10*time.Minute {
		t.Errorf("InstallerQuietTimeout = %s, want the documented default 10m", a.InstallerQuietTimeout)
	}
	a, err = Load(write(t, "install.inf", good+"InstallerQuietTimeout = 45m\n", 0o600), LoadOptions{})
	if err != nil || a.InstallerQuietTimeout != 45*time.Minute {
		t.Errorf("InstallerQuietTimeout = 45m read as %v (%v)", a, err)
	}
}
