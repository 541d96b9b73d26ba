package steps

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"mswizard/wizard"
)

// isMountPoint reports whether path is a mount point, from /proc/self/mountinfo
// (field 5 is the mount point, with octal escapes for spaces).
func isMountPoint(path string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	path = filepath.Clean(path)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMount(fields[4]) == path {
			return true, nil
		}
	}
	return false, sc.Err()
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// storeUmount is store/aside for StoreAction = umount (seed 003, backup step 5:
// "umount msgserver-root/msg-instance/store/partition/primary"). Undo mounts it
// again by its /etc/fstab entry, as the appendix's backout does.
func storeUmount(c *Config, store string) wizard.Step {
	return &unit{id: "store/aside", title: "Unmount the message store",
		check: func(ctx context.Context, env *wizard.Env) (bool, string, error) {
			m, err := isMountPoint(store)
			if err != nil {
				return false, "", err
			}
			if !m {
				return true, store + " is not mounted", nil
			}
			return false, store + " is mounted", nil
		},
		plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			return []wizard.Action{commandAction(env, wizard.Command{Path: "umount", Args: []string{store}})}, nil
		},
		undo: func(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
			return []wizard.Action{mountAction(env, store)}, nil
		},
		undoText: "mount the store again (by its /etc/fstab entry)",
	}
}

func mountAction(env *wizard.Env, store string) wizard.Action {
	a := commandAction(env, wizard.Command{Path: "mount", Args: []string{store}})
	do := a.Do
	a.Idempotent = true
	a.Do = func(ctx context.Context, r *wizard.Receipt) error {
		if m, _ := isMountPoint(store); m {
			r.Note = "already mounted"
			return nil
		}
		return do(ctx, r)
	}
	return a
}

func storeRemount(c *Config, store string) wizard.Step {
	return &unit{id: "post/store-return", title: "Mount the message store again",
		check: func(ctx context.Context, env *wizard.Env) (bool, string, error) {
			m, err := isMountPoint(store)
			if err != nil {
				return false, "", err
			}
			if m {
				return true, store + " is mounted", nil
			}
			return false, store + " is not mounted", nil
		},
		plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			return []wizard.Action{mountAction(env, store)}, nil
		},
		undo: func(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
			return []wizard.Action{commandAction(env, wizard.Command{Path: "umount", Args: []string{store}})}, nil
		},
		undoText: "unmount the store again",
	}
}

// commandAction runs one external command and keeps its evidence in the receipt;
// its output is streamed to the faces line by line.
func commandAction(env *wizard.Env, cmd wizard.Command) wizard.Action {
	return wizard.Action{
		Summary: cmd.String(),
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			cmd.Output = lineWriter(func(line string) { env.Output(r.Step, line) })
			res, err := env.Exec.Run(ctx, cmd)
			r.Command = &res
			if err != nil {
				return fmt.Errorf("%s: %w", cmd.Path, err)
			}
			return nil
		},
	}
}

// lineWriter calls f with each complete line written to it.
type lineWriter func(string)

func (w lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if l != "" {
			w(l)
		}
	}
	return len(p), nil
}
