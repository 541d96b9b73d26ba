package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"mswizard/internal/atomicfile"
	"mswizard/steps/facts"
	"mswizard/wizard"
	"mswizard/wizard/lines"
	"mswizard/wizard/mounts"
)

// mountEntry is one line of /proc/self/mountinfo: what a remount needs.
type mountEntry = mounts.Entry

// mountAt returns the mount whose mount point is path, if any.
func mountAt(path string) (mountEntry, bool, error) { return mounts.At(path) }

// isMountPoint is the one mount-point test of the wizard (wizard/mounts), here
// for the steps that move a store or lay a server root down.
func isMountPoint(path string) (bool, error) { return mounts.IsMountPoint(path) }

func unescapeMount(s string) string { return mounts.Unescape(s) }

// inFstab says whether /etc/fstab names path as a mount point, so `mount PATH`
// mounts it as the appendix's backout does.
func inFstab(path string) bool {
	b, err := os.ReadFile("/etc/fstab")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && !strings.HasPrefix(f[0], "#") && filepath.Clean(unescapeMount(f[1])) == filepath.Clean(path) {
			return true
		}
	}
	return false
}

func (c *Config) storeMountFile() string { return filepath.Join(c.StateDir, "store-mount.json") }

// remountCommand mounts the store again: by its /etc/fstab entry when it has
// one (seed 003 backout step 4, "mount msgserver-root/.../primary"), otherwise
// from what store/aside recorded before unmounting it.
func (c *Config) remountCommand(store string) (wizard.Command, error) {
	if inFstab(store) {
		return wizard.Command{Path: "mount", Args: []string{store}}, nil
	}
	var m mountEntry
	b, err := os.ReadFile(c.storeMountFile())
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &m); err != nil {
			return wizard.Command{}, fmt.Errorf("store: %s: %w", c.storeMountFile(), err)
		}
	default:
		// Nothing recorded yet (a plan before the run): as it is mounted now.
		cur, ok, merr := mountAt(store)
		if merr != nil || !ok {
			return wizard.Command{}, fmt.Errorf("store: %s has no /etc/fstab entry and no recorded mount (%v): mount it by hand", store, err)
		}
		m = cur
	}
	return wizard.Command{Path: "mount", Args: []string{"-t", m.FSType, "-o", m.Options, m.Source, store}}, nil
}

// umountFindings are the reasons StoreAction = umount cannot keep the store
// safe: it must be a mount point, of a filesystem that keeps its content when
// unmounted, and one a remount can find again.
func (c *Config) umountFindings(store string) []wizard.Finding {
	m, ok, err := mountAt(store)
	if _, rerr := os.Stat(c.storeMountFile()); !ok && rerr == nil {
		return nil // store/aside of this run unmounted it
	}
	switch {
	case err != nil:
		return []wizard.Finding{{ID: "PRE-STORE-003", Severity: wizard.Inhibitor, Message: fmt.Sprintf("cannot read the mount table: %v", err), Remediation: "run the wizard where /proc is mounted"}}
	case !ok:
		return []wizard.Finding{{ID: "PRE-STORE-001", Severity: wizard.Inhibitor,
			Message:     fmt.Sprintf("StoreAction = umount, but %s is not a mount point: the upgrade would write into the store", store),
			Remediation: "set StoreAction = move in [Wizard], or mount the store partition first"}}
	case m.FSType == "tmpfs" || m.FSType == "ramfs":
		return []wizard.Finding{{ID: "PRE-STORE-002", Severity: wizard.Inhibitor,
			Message:     fmt.Sprintf("the store %s is a %s: unmounting it would lose every message", store, m.FSType),
			Remediation: "set StoreAction = move in [Wizard]"}}
	case m.Root != "/" && !inFstab(store):
		return []wizard.Finding{{ID: "PRE-STORE-004", Severity: wizard.Inhibitor,
			Message:     fmt.Sprintf("the store %s is a bind mount of %s on %s without an /etc/fstab entry: the wizard could not mount it again", store, m.Root, m.Source),
			Remediation: "add the mount to /etc/fstab, or set StoreAction = move in [Wizard]"}}
	}
	return nil
}

// storeUmount is store/aside for StoreAction = umount (seed 003, backup step 5:
// "umount msgserver-root/msg-instance/store/partition/primary").
func storeUmount(c *Config, store string) wizard.Step {
	return wizard.Phase{ID: "store/aside", Title: "Unmount the message store", Establishes: []wizard.Fact{facts.StoreAside}, Backout: wizard.BackoutKey{Stage: wizard.BackoutReturn},
		Check: func(ctx context.Context, env *wizard.Env) (bool, string, error) {
			m, err := isMountPoint(store)
			if err != nil {
				return false, "", err
			}
			if _, rerr := os.Stat(c.storeMountFile()); !m && rerr == nil {
				return true, store + " is unmounted", nil
			}
			if !m {
				return false, "", fmt.Errorf("StoreAction = umount, but %s is not a mount point (see PRE-STORE-001)", store)
			}
			return false, store + " is mounted", nil
		},
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			a := commandAction(env, wizard.Command{Path: "umount", Args: []string{store}})
			do := a.Do
			a.Do = func(ctx context.Context, r *wizard.Receipt) error {
				// As before the move of StoreAction = move: a store daemon
				// started again since the stops (a resumed run, boot scripts)
				// holds the partition, and the unmount would pull it away
				// from under it (or fail busy).
				if err := c.servicesDown(ctx, "unmounting the store"); err != nil {
					return err
				}
				// What a remount needs is durable before the store goes away.
				m, ok, err := mountAt(store)
				if err != nil {
					return err
				}
				if !ok {
					r.Note = "already unmounted"
					return nil
				}
				b, _ := json.MarshalIndent(m, "", "  ")
				if err := atomicfile.WriteFile(c.storeMountFile(), b, 0o600); err != nil {
					return err
				}
				if err := r.SetData(m); err != nil {
					return err
				}
				return do(ctx, r)
			}
			a.Idempotent = true
			return []wizard.Action{a}, nil
		},
		Undo: func(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
			a, err := c.mountAction(env, store)
			if err != nil {
				return nil, err
			}
			return []wizard.Action{a}, nil
		},
		UndoText: "mount the store again (by /etc/fstab, or as it was mounted)",
	}.Step()
}

func (c *Config) mountAction(env *wizard.Env, store string) (wizard.Action, error) {
	cmd, err := c.remountCommand(store)
	if err != nil {
		return wizard.Action{}, err
	}
	a := commandAction(env, cmd)
	do := a.Do
	a.Idempotent = true
	a.Do = func(ctx context.Context, r *wizard.Receipt) error {
		if m, _ := isMountPoint(store); m {
			r.Note = "already mounted"
			return nil
		}
		return do(ctx, r)
	}
	return a, nil
}

func storeRemount(c *Config, store string) wizard.Step {
	return wizard.Phase{ID: "post/store-return", Title: "Mount the message store again", Establishes: []wizard.Fact{wizard.Not(facts.StoreAside)}, Backout: wizard.BackoutKey{Stage: wizard.BackoutSetAside},
		Check: func(ctx context.Context, env *wizard.Env) (bool, string, error) {
			m, err := isMountPoint(store)
			if err != nil {
				return false, "", err
			}
			if m {
				return true, store + " is mounted", nil
			}
			return false, store + " is not mounted", nil
		},
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			a, err := c.mountAction(env, store)
			if err != nil {
				return nil, err
			}
			return []wizard.Action{a}, nil
		},
		Undo: func(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
			a := commandAction(env, wizard.Command{Path: "umount", Args: []string{store}})
			do := a.Do
			a.Idempotent = true
			a.Do = func(ctx context.Context, r *wizard.Receipt) error {
				if m, _ := isMountPoint(store); !m {
					r.Note = "already unmounted"
					return nil
				}
				return do(ctx, r)
			}
			return []wizard.Action{a}, nil
		},
		UndoText: "unmount the store again",
	}.Step()
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

// lineWriter hands each whole line of a command's output to f; the command
// runner flushes the last one when the output ends (wizard/lines).
func lineWriter(f func(string)) *lines.Writer { return lines.New(f) }
