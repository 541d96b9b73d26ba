package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/wizard/answers"
)

func formValues(t *testing.T) AnswerValues {
	t.Helper()
	dir := t.TempDir()
	pwd := filepath.Join(dir, "bind.pwd")
	if err := os.WriteFile(pwd, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return AnswerValues{
		ServerRoot: filepath.Join(dir, "server5"), FullMachineName: "budgie.siroe.com", Instance: "budgie",
		UserDirectoryLdapURL: "ldap://ldap.siroe.com:389/o=siroe.com", UserDirectoryAdminID: "cn=Directory Manager",
		PwdFile: pwd, StateDir: filepath.Join(dir, "state"), BackupDir: filepath.Join(dir, "backup"),
		Installer: "/cdrom/ims52/setup", Regime: "plain", StoreAction: "move",
	}
}

// TestAnswersFormValidation: the form's values are checked as the file is, and
// each problem is named by its key.
func TestAnswersFormValidation(t *testing.T) {
	v := formValues(t)
	if err := ValidateAnswers(v); err != nil {
		t.Fatalf("good values rejected: %v", err)
	}
	cases := []struct {
		name string
		edit func(*AnswerValues)
		want string
	}{
		{"a required key is missing", func(v *AnswerValues) { v.Installer = "" }, "Installer"},
		{"the password file is readable by others", func(v *AnswerValues) { os.Chmod(v.PwdFile, 0o644) }, "UserDirectoryAdminPwdFile"},
		{"the password file does not exist", func(v *AnswerValues) { v.PwdFile = v.PwdFile + ".missing" }, "UserDirectoryAdminPwdFile"},
		{"a regime that is not one of the choices", func(v *AnswerValues) { v.Regime = "systemd" }, "Regime"},
		{"a URL that is not LDAP", func(v *AnswerValues) { v.UserDirectoryLdapURL = "http://x" }, "UserDirectoryLdapURL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := formValues(t)
			c.edit(&v)
			err := ValidateAnswers(v)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a problem naming %s", err, c.want)
			}
			if strings.Contains(err.Error(), "install.inf:") {
				t.Errorf("problem names the temporary file's line: %v", err)
			}
		})
	}
}

// TestSaveAnswers: the saved file is 0600, holds the password only by
// reference, and parses back to the same values.
func TestSaveAnswers(t *testing.T) {
	v := formValues(t)
	path := filepath.Join(t.TempDir(), "install.inf")
	if err := SaveAnswers(path, v); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, err %v", fi.Mode(), err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "s3cret") || !strings.Contains(string(data), "UserDirectoryAdminPwdFile = "+v.PwdFile) {
		t.Fatalf("secret not by reference:\n%s", data)
	}
	a, err := answers.Load(path, answers.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.ServerRoot != v.ServerRoot || a.Instance != "budgie" || a.Regime != "plain" || a.StoreAction != "move" ||
		a.StateDir != v.StateDir || a.BackupDir != v.BackupDir || a.Installer != v.Installer ||
		a.UserDirectoryLdapURL != v.UserDirectoryLdapURL || a.UserDirectoryAdminPwd.Reveal() != "s3cret" {
		t.Errorf("parsed back differently: %+v", a)
	}
}
