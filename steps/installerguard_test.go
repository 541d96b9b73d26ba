package steps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/steps/host"
)

func TestTheAnswersCopyIsScrubbedOnlyWhenNoInstallerIsProvedToRun(t *testing.T) {
	unreadable := func(context.Context) ([]host.GroupedProc, error) {
		return nil, errors.New("ps: not found")
	}
	cases := []struct {
		name    string
		table   func(copyPath string) func(context.Context) ([]host.GroupedProc, error)
		removed bool
		err     string // what the scrub's and the guard's errors name
	}{
		{"no installer in the table: removed", func(string) func(context.Context) ([]host.GroupedProc, error) {
			return func(context.Context) ([]host.GroupedProc, error) {
				return []host.GroupedProc{{Proc: host.Proc{Pid: 1, Args: []string{"/sbin/init"}}, Pgid: 1}}, nil
			}
		}, true, ""},
		{"a silent installer reading the copy: kept, its whole group named", func(copyPath string) func(context.Context) ([]host.GroupedProc, error) {
			return func(context.Context) ([]host.GroupedProc, error) {
				return []host.GroupedProc{
					{Proc: host.Proc{Pid: 1, Args: []string{"/sbin/init"}}, Pgid: 1},
					{Proc: host.Proc{Pid: 700, Args: []string{"/cdrom/setup", "-s", "-f", copyPath}}, Pgid: 700},
					{Proc: host.Proc{Pid: 701, Args: []string{"/cdrom/bin/ns-setup"}}, Pgid: 700},
				}, nil
			}
		}, false, "pid 701, process group 700"},
		{"a process table that cannot be read: kept, never taken for no installer", func(string) func(context.Context) ([]host.GroupedProc, error) {
			return unreadable
		}, false, "cannot tell whether an installer still runs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{StateDir: t.TempDir()}
			c.processGroups = tc.table(c.InstallerAnswersPath())
			if err := os.WriteFile(c.InstallerAnswersPath(), []byte("[General]\nUserDirectoryAdminPwd = s3cret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			removed, err := ScrubInstallerAnswers(t.Context(), c)
			if removed != tc.removed {
				t.Errorf("removed = %v, want %v (err %v)", removed, tc.removed, err)
			}
			if _, serr := os.Stat(c.InstallerAnswersPath()); (serr == nil) == tc.removed {
				t.Errorf("the copy exists = %v after the scrub", serr == nil)
			}
			guard := c.installerAlive(t.Context())
			if tc.err == "" {
				if guard != nil || err != nil {
					t.Errorf("guard %v, scrub %v; want none", guard, err)
				}
				return
			}
			if guard == nil || !strings.Contains(guard.Error(), tc.err) {
				t.Errorf("guard = %v, want it to name %q", guard, tc.err)
			}
			if strings.HasPrefix(tc.err, "cannot tell") && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("scrub error = %v, want it to say the table is unknown", err)
			}
		})
	}
}

// TestAnInstallerOfAnotherStateDirectoryIsFoundByTheServerRootsRecord: a run
// whose journal is lost or whose StateDir differs finds the silent installer
// the earlier run started through the record beside the server root; a
// record whose installer is gone refuses nothing.
func TestAnInstallerOfAnotherStateDirectoryIsFoundByTheServerRootsRecord(t *testing.T) {
	root := filepath.Join(t.TempDir(), "iplanet")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	first := &Config{StateDir: t.TempDir(), Host: host.Layout{Root: root}}
	if err := first.markInstallerRun(first.InstallerAnswersPath()); err != nil {
		t.Fatal(err)
	}
	table := func(args ...string) func(context.Context) ([]host.GroupedProc, error) {
		return func(context.Context) ([]host.GroupedProc, error) {
			return []host.GroupedProc{
				{Proc: host.Proc{Pid: 1, Args: []string{"/sbin/init"}}, Pgid: 1},
				{Proc: host.Proc{Pid: 800, Args: args}, Pgid: 800},
			}, nil
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"the first run's silent installer still runs: refused, named", []string{"/cdrom/setup", "-s", "-f", first.InstallerAnswersPath()}, "pid 800, process group 800"},
		{"it has exited: nothing refused", []string{"/usr/sbin/cron"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			second := &Config{StateDir: t.TempDir(), Host: host.Layout{Root: root}}
			second.processGroups = table(tc.args...)
			err := RefuseAnotherRunsInstaller(t.Context(), second)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var running *InstallerRunningError
			if !errors.As(err, &running) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an installer running naming %q", err, tc.want)
			}
		})
	}
	t.Run("the same state directory is left to its own step", func(t *testing.T) {
		first.processGroups = table("/cdrom/setup", "-s", "-f", first.InstallerAnswersPath())
		if err := RefuseAnotherRunsInstaller(t.Context(), first); err != nil {
			t.Fatalf("refused its own run: %v", err)
		}
	})
}
