package answers

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestRelativePathsResolveAgainstTheAnswersFileNotTheWorkingDirectory(t *testing.T) {
	body := strings.NewReplacer("StateDir = /var/tmp/state", "StateDir = state/../state",
		"BackupDir = /backup", "BackupDir = backups", "Installer = /cdrom/setup", "Installer = ./cdrom/setup").Replace(good)
	p := write(t, "install.inf", body, 0o600)
	dir := filepath.Dir(p)
	for _, cwd := range []string{dir, t.TempDir(), "/"} {
		t.Chdir(cwd)
		rel, _ := filepath.Rel(cwd, p)
		a, err := Load(rel, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if a.Path != p || a.StateDir != filepath.Join(dir, "state") || a.BackupDir != filepath.Join(dir, "backups") || a.Installer != filepath.Join(dir, "cdrom/setup") {
			t.Fatalf("from %s: path %s state %s backups %s installer %s", cwd, a.Path, a.StateDir, a.BackupDir, a.Installer)
		}
	}
}

func TestARelativeServerRootIsRefused(t *testing.T) {
	p := write(t, "install.inf", strings.Replace(good, "ServerRoot= /srv/server-root", "ServerRoot= srv/server-root", 1), 0o600)
	_, err := Load(p, LoadOptions{})
	var ps Problems
	if !errors.As(err, &ps) || !strings.Contains(err.Error(), "install.inf:3: ServerRoot") || !strings.Contains(err.Error(), "absolute") {
		t.Fatalf("err = %v", err)
	}
}

func TestAnswersFileIOErrorsAreAnswersProblems(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, path, want string
	}{
		{"a missing file", filepath.Join(dir, "missing.inf"), "no such file"},
		{"a directory", dir, "is a directory"},
		{"a device", "/dev/null", "not a regular file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.path, LoadOptions{})
			var ps Problems
			if !errors.As(err, &ps) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want Problems saying %q", err, c.want)
			}
		})
	}
}
