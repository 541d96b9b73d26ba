package runbook

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"mswizard/steps/node"
	"mswizard/wizard"
)

// fileStep writes a file (from a template or a copy), makes a directory or a
// symlink, or removes a path, and sets mode and owner. What was at the path
// before — nothing, a file with its bytes, a directory, a symlink — is kept in
// the state directory before the change, and the undo puts exactly that back.
type fileStep struct {
	base
	f      FileSpec
	secret bool // the content holds a secret: plans show no hash of it
}

// prior is what was at the path before the step's first change.
type prior struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	Kind   string `json:"kind,omitempty"` // file, directory, symlink
	Mode   uint32 `json:"mode,omitempty"`
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	Target string `json:"target,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

func (p prior) String() string {
	switch {
	case !p.Exists:
		return "nothing"
	case p.Kind == FileSymlink:
		return "a symlink to " + p.Target
	case p.Kind == FileDirectory:
		return fmt.Sprintf("a directory (mode %04o, owner %d:%d)", p.Mode, p.UID, p.GID)
	}
	return fmt.Sprintf("a file (sha256 %s, mode %04o, owner %d:%d)", hash12(p.SHA256), p.Mode, p.UID, p.GID)
}

func kindOf(fi fs.FileInfo) string {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return FileSymlink
	case fi.IsDir():
		return FileDirectory
	case fi.Mode().IsRegular():
		return FileFile
	}
	return "other"
}

// want returns the bytes a file step writes.
func (s *fileStep) want(ctx context.Context) ([]byte, error) {
	if s.f.Copy != "" {
		return s.n.ReadFile(ctx, s.f.Copy)
	}
	return []byte(s.f.Content), nil
}

func (s *fileStep) ids(ctx context.Context) (int, int, error) {
	uid, err := resolveID(ctx, s.n, s.f.Owner, false)
	if err != nil {
		return -1, -1, err
	}
	gid, err := resolveID(ctx, s.n, s.f.Group, true)
	return uid, gid, err
}

func (s *fileStep) phase() wizard.Phase {
	return s.declare(wizard.Phase{Check: s.Check, Plan: s.Plan, Undo: s.Undo, UndoText: s.undoText()})
}

func (s *fileStep) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	p := s.f.Path
	fi, err := s.n.Lstat(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		if s.f.State == FileAbsent {
			return true, p + " is absent", nil
		}
		return false, p + " does not exist", nil
	}
	if err != nil {
		return false, "", err
	}
	kind := kindOf(fi)
	switch s.f.State {
	case FileAbsent:
		return false, p + " exists", nil
	case FileSymlink:
		if kind != FileSymlink {
			return false, p + " is not a symlink", nil
		}
		t, err := s.n.ReadLink(ctx, p)
		if err != nil {
			return false, "", err
		}
		if t != s.f.Target {
			return false, fmt.Sprintf("%s points at %s, not %s", p, t, s.f.Target), nil
		}
		return true, fmt.Sprintf("%s points at %s", p, t), nil
	}
	if kind != s.f.State {
		return false, fmt.Sprintf("%s is a %s, not a %s", p, kind, s.f.State), nil
	}
	if s.f.State == FileFile {
		want, err := s.want(ctx)
		if err != nil {
			return false, "", err
		}
		have, err := s.n.ReadFile(ctx, p)
		if err != nil {
			return false, "", err
		}
		if sha(have) != sha(want) {
			return false, p + " has other content", nil
		}
	}
	if s.f.Mode != nil && uint32(fi.Mode().Perm()) != *s.f.Mode {
		return false, fmt.Sprintf("%s has mode %04o, not %04o", p, fi.Mode().Perm(), *s.f.Mode), nil
	}
	if s.f.Owner != "" || s.f.Group != "" {
		uid, gid, err := s.ids(ctx)
		if err != nil {
			return false, "", err
		}
		huid, hgid, err := s.n.Owner(ctx, p)
		if err != nil {
			return false, "", err
		}
		if (uid >= 0 && uid != huid) || (gid >= 0 && gid != hgid) {
			return false, fmt.Sprintf("%s is owned by %d:%d", p, huid, hgid), nil
		}
	}
	return true, fmt.Sprintf("%s is the %s the runbook describes", p, s.f.State), nil
}

func (s *fileStep) attrs() string {
	a := ""
	if s.f.Mode != nil {
		a += fmt.Sprintf(", mode %04o", *s.f.Mode)
	}
	if s.f.Owner != "" || s.f.Group != "" {
		a += fmt.Sprintf(", owner %s:%s", s.f.Owner, s.f.Group)
	}
	return a
}

func (s *fileStep) summary() string {
	f := s.f
	switch f.State {
	case FileFile:
		if f.Copy != "" {
			return fmt.Sprintf("copy %s to %s%s", f.Copy, f.Path, s.attrs())
		}
		if s.secret {
			return fmt.Sprintf("write %s (%d bytes, holding a secret from the answers%s)", f.Path, len(f.Content), s.attrs())
		}
		return fmt.Sprintf("write %s (%d bytes, sha256 %s%s)", f.Path, len(f.Content), hash12(sha([]byte(f.Content))), s.attrs())
	case FileDirectory:
		return fmt.Sprintf("mkdir %s%s", f.Path, s.attrs())
	case FileSymlink:
		return fmt.Sprintf("ln -s %s %s", f.Target, f.Path)
	}
	return fmt.Sprintf("remove %s (kept in the state directory for the undo)", f.Path)
}

func (s *fileStep) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	return []wizard.Action{{Summary: s.summary(), Idempotent: true, Do: func(ctx context.Context, rc *wizard.Receipt) error {
		p, err := s.savePrior(ctx)
		if err != nil {
			return err
		}
		if err := rc.SetData(p); err != nil {
			return err
		}
		if err := s.make(ctx, rc); err != nil {
			return err
		}
		rc.Note = "before: " + p.String()
		return nil
	}}}, nil
}

// savePrior keeps what is at the path, once: a rerun after a kill finds the
// first record, which describes the host before any change.
func (s *fileStep) savePrior(ctx context.Context) (prior, error) {
	var p prior
	have, err := s.loadJSON("prior.json", &p)
	if err != nil || have {
		return p, err
	}
	p = prior{Path: s.f.Path}
	fi, err := s.n.Lstat(ctx, s.f.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return p, err
	default:
		p.Exists, p.Kind, p.Mode = true, kindOf(fi), uint32(fi.Mode().Perm())
		if p.UID, p.GID, err = s.n.Owner(ctx, s.f.Path); err != nil {
			return p, err
		}
		switch p.Kind {
		case FileSymlink:
			if p.Target, err = s.n.ReadLink(ctx, s.f.Path); err != nil {
				return p, err
			}
		case FileFile:
			data, err := s.n.ReadFile(ctx, s.f.Path)
			if err != nil {
				return p, err
			}
			if err := os.MkdirAll(s.saveDir, 0o700); err != nil {
				return p, err
			}
			if err := writeSaved(filepath.Join(s.saveDir, "prior.data"), data); err != nil {
				return p, err
			}
			p.SHA256 = sha(data)
		case FileDirectory:
		default:
			return p, fmt.Errorf("%s is neither a file, a directory nor a symlink; the runbook will not replace it", s.f.Path)
		}
	}
	return p, s.saveJSON("prior.json", p)
}

func (s *fileStep) make(ctx context.Context, rc *wizard.Receipt) error {
	f := s.f
	fi, err := s.n.Lstat(ctx, f.Path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	switch f.State {
	case FileAbsent:
		if !exists {
			return nil
		}
		return s.n.Remove(ctx, f.Path)
	case FileSymlink:
		if exists {
			if kindOf(fi) == FileSymlink {
				if t, _ := s.n.ReadLink(ctx, f.Path); t == f.Target {
					return nil
				}
			}
			if kindOf(fi) == FileDirectory {
				return fmt.Errorf("%s is a directory; the runbook will not replace it with a symlink", f.Path)
			}
			if err := s.n.Remove(ctx, f.Path); err != nil {
				return err
			}
		}
		return s.n.Symlink(ctx, f.Target, f.Path)
	case FileDirectory:
		mode := fs.FileMode(0o755)
		if f.Mode != nil {
			mode = fs.FileMode(*f.Mode)
		}
		if !exists {
			if err := s.n.Mkdir(ctx, f.Path, mode); err != nil {
				return err
			}
		} else if kindOf(fi) != FileDirectory {
			return fmt.Errorf("%s exists and is not a directory", f.Path)
		} else if f.Mode != nil {
			if err := s.n.Chmod(ctx, f.Path, mode); err != nil {
				return err
			}
		}
	case FileFile:
		if exists && kindOf(fi) == FileDirectory {
			return fmt.Errorf("%s is a directory; the runbook will not replace it with a file", f.Path)
		}
		data, err := s.want(ctx)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if exists {
			mode = fi.Mode().Perm()
		}
		if f.Mode != nil {
			mode = fs.FileMode(*f.Mode)
		}
		if err := s.n.WriteFile(ctx, f.Path, data, mode); err != nil {
			return err
		}
		if !s.secret {
			rc.Files = []wizard.FileHash{{Path: f.Path, Size: int64(len(data)), SHA256: sha(data)}}
		}
	}
	if f.Owner != "" || f.Group != "" {
		uid, gid, err := s.ids(ctx)
		if err != nil {
			return err
		}
		return s.n.Chown(ctx, f.Path, uid, gid)
	}
	return nil
}

func (s *fileStep) Undo(ctx context.Context, env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	sum := fmt.Sprintf("restore %s to what was there before this step", s.f.Path)
	for _, r := range receipts {
		var p prior
		if r.DataInto(&p) == nil && p.Path != "" {
			sum = fmt.Sprintf("restore %s to what was there: %s", s.f.Path, p)
		}
	}
	if s.f.State == FileDirectory && s.f.UndoContents != "refuse" {
		sum += fmt.Sprintf(" (what others put in it: %s)", s.f.UndoContents)
	}
	return []wizard.Action{{Summary: sum, Idempotent: true, Do: func(ctx context.Context, rc *wizard.Receipt) error {
		var p prior
		have, err := s.loadJSON("prior.json", &p)
		if err != nil {
			return err
		}
		if !have {
			rc.Note = "nothing kept: the step never changed " + s.f.Path
			return nil
		}
		if err := s.restore(ctx, p, rc); err != nil {
			return err
		}
		return s.clearSaved()
	}}}, nil
}

func (s *fileStep) restore(ctx context.Context, p prior, rc *wizard.Receipt) error {
	path := p.Path
	fi, err := s.n.Lstat(ctx, path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if exists && p.Exists && p.Kind == FileDirectory && kindOf(fi) == FileDirectory {
		// The directory was there: only its mode and owner may have changed.
		if err := s.n.Chmod(ctx, path, fs.FileMode(p.Mode)); err != nil {
			return err
		}
		return s.n.Chown(ctx, path, p.UID, p.GID)
	}
	if exists {
		if kindOf(fi) == FileDirectory {
			err := s.n.Remove(ctx, path)
			switch {
			case err == nil:
			case errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST):
				switch s.f.UndoContents {
				case "remove":
					if _, err := runCmd(ctx, &wizard.Env{Output: func(string, string) {}}, s.id, s.n, node.Command{Argv: []string{"rm", "-rf", "--", path}, Timeout: 5 * time.Minute}, nil, nil); err != nil {
						return err
					}
				case "keep":
					rc.Note = path + " kept: it holds what others put in it since (undo_contents: keep)"
					return nil
				default:
					return fmt.Errorf("%s holds files made since this step created it; remove them, or declare undo_contents: remove or keep in the runbook", path)
				}
			default:
				return err
			}
		} else if err := s.n.Remove(ctx, path); err != nil {
			return err
		}
	}
	if !p.Exists {
		return nil
	}
	switch p.Kind {
	case FileSymlink:
		return s.n.Symlink(ctx, p.Target, path)
	case FileDirectory:
		if err := s.n.Mkdir(ctx, path, fs.FileMode(p.Mode)); err != nil {
			return err
		}
	case FileFile:
		data, err := os.ReadFile(filepath.Join(s.saveDir, "prior.data"))
		if err != nil {
			return fmt.Errorf("the kept file: %w", err)
		}
		if sha(data) != p.SHA256 {
			return fmt.Errorf("the kept copy of %s does not match its recorded sha256 %s", path, p.SHA256)
		}
		if err := s.n.WriteFile(ctx, path, data, fs.FileMode(p.Mode)); err != nil {
			return err
		}
		rc.Files = []wizard.FileHash{{Path: path, Size: int64(len(data)), SHA256: p.SHA256}}
	}
	return s.n.Chown(ctx, path, p.UID, p.GID)
}

func (s *fileStep) undoText() string {
	return "restores " + s.f.Path + " as it was"
}
