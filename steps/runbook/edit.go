package runbook

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"mswizard/wizard"
)

// editStep makes a line or a KEY=VALUE record present, absent, commented or
// uncommented. The file's original bytes, mode and owner are kept in the state
// directory before the first change, and the undo puts them back exactly.
type editStep struct {
	base
	e EditSpec
}

// original is what the edit kept of the file before its first change.
type original struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Mode   uint32 `json:"mode"`
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
}

func (s *editStep) what() string {
	e := s.e
	var w string
	if e.Key != "" {
		w = "record " + e.Key
		if e.State == StatePresent || (e.State == StateUncommented && e.Value != "") {
			w = fmt.Sprintf("record %s%s%s", e.Key, e.Separator, e.Value)
		}
	} else {
		w = fmt.Sprintf("line %q", e.Line)
	}
	w += " " + e.State
	if e.Replaces != "" {
		w += fmt.Sprintf(" in place of %q", e.Replaces)
		if e.Append {
			w += " (added when that line is missing)"
		}
	}
	return w
}

func (s *editStep) phase() wizard.Phase {
	return s.declare(wizard.Phase{Check: s.Check, Plan: s.Plan, Undo: s.Undo, UndoText: s.undoText()})
}

func (s *editStep) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	b, err := s.n.ReadFile(ctx, s.e.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, s.e.Path + " does not exist", nil
	}
	if err != nil {
		return false, "", err
	}
	_, changed, err := s.apply(string(b))
	if err != nil {
		return false, err.Error(), nil
	}
	if changed {
		return false, fmt.Sprintf("%s: %s does not hold yet", s.e.Path, s.what()), nil
	}
	return true, fmt.Sprintf("%s: %s holds", s.e.Path, s.what()), nil
}

func (s *editStep) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	return []wizard.Action{{Summary: fmt.Sprintf("edit %s: %s (the original kept in the state directory)", s.e.Path, s.what()), Idempotent: true,
		Do: func(ctx context.Context, rc *wizard.Receipt) error {
			cur, err := s.n.ReadFile(ctx, s.e.Path)
			if err != nil {
				return fmt.Errorf("edit: %w", err)
			}
			fi, err := s.n.Lstat(ctx, s.e.Path)
			if err != nil {
				return err
			}
			if !fi.Mode().IsRegular() {
				return fmt.Errorf("edit: %s is not a regular file", s.e.Path)
			}
			uid, gid, err := s.n.Owner(ctx, s.e.Path)
			if err != nil {
				return err
			}
			var o original
			have, err := s.loadJSON("original.json", &o)
			if err != nil {
				return err
			}
			if !have {
				// The original first (its bytes, then the record naming them):
				// a kill after this and before the write leaves an undo with
				// nothing to change back, never one without the original.
				if err := os.MkdirAll(s.saveDir, 0o700); err != nil {
					return err
				}
				if err := writeSaved(filepath.Join(s.saveDir, "original"), cur); err != nil {
					return err
				}
				o = original{Path: s.e.Path, SHA256: sha(cur), Mode: uint32(fi.Mode().Perm()), UID: uid, GID: gid}
				if err := s.saveJSON("original.json", o); err != nil {
					return err
				}
			}
			next, changed, err := s.apply(string(cur))
			if err != nil {
				return err
			}
			if changed {
				if err := s.n.WriteFile(ctx, s.e.Path, []byte(next), fi.Mode().Perm()); err != nil {
					return err
				}
				if err := s.n.Chown(ctx, s.e.Path, uid, gid); err != nil {
					return err
				}
			}
			rc.Files = []wizard.FileHash{{Path: s.e.Path, Size: int64(len(next)), SHA256: sha([]byte(next))}}
			rc.Note = fmt.Sprintf("original sha256 %s kept at %s", o.SHA256, filepath.Join(s.saveDir, "original"))
			return rc.SetData(o)
		}}}, nil
}

func writeSaved(path string, data []byte) error {
	f, err := os.OpenFile(path+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

func (s *editStep) Undo(ctx context.Context, env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	sum := fmt.Sprintf("restore %s from the original kept in the state directory", s.e.Path)
	for _, r := range receipts {
		var o original
		if r.DataInto(&o) == nil && o.SHA256 != "" {
			sum = fmt.Sprintf("restore %s to its original (sha256 %s, mode %04o)", s.e.Path, hash12(o.SHA256), o.Mode)
		}
	}
	return []wizard.Action{{Summary: sum, Idempotent: true, Do: func(ctx context.Context, rc *wizard.Receipt) error {
		var o original
		have, err := s.loadJSON("original.json", &o)
		if err != nil {
			return err
		}
		if !have {
			rc.Note = "nothing kept: the edit never changed the file"
			return nil
		}
		data, err := os.ReadFile(filepath.Join(s.saveDir, "original"))
		if err != nil {
			return fmt.Errorf("the kept original: %w", err)
		}
		if sha(data) != o.SHA256 {
			return fmt.Errorf("the kept original %s does not match its recorded sha256 %s; restore %s by hand", filepath.Join(s.saveDir, "original"), o.SHA256, o.Path)
		}
		if err := s.n.WriteFile(ctx, o.Path, data, fs.FileMode(o.Mode)); err != nil {
			return err
		}
		if err := s.n.Chown(ctx, o.Path, o.UID, o.GID); err != nil {
			return err
		}
		rc.Files = []wizard.FileHash{{Path: o.Path, Size: int64(len(data)), SHA256: o.SHA256}}
		return s.clearSaved()
	}}}, nil
}

func (s *editStep) undoText() string {
	return "restores " + s.e.Path + " from the original kept"
}

// apply returns the file's content with the edit made, and whether it changed.
// It is idempotent: applying it to its own result changes nothing.
func (s *editStep) apply(content string) (string, bool, error) {
	e := s.e
	trailing := strings.HasSuffix(content, "\n")
	lines := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
	if content == "" {
		lines = nil
	}
	matchLive := func(l string) bool { return strings.TrimRight(l, " \t\r") == e.Line }
	commented := func(l string) (string, bool) {
		t := strings.TrimLeft(l, " \t")
		if !strings.HasPrefix(t, e.Comment) {
			return "", false
		}
		return strings.TrimLeft(strings.TrimPrefix(t, e.Comment), " \t"), true
	}
	recordKey := func(l string) (string, bool) {
		k, _, ok := strings.Cut(l, e.Separator)
		if !ok {
			return "", false
		}
		return strings.TrimSpace(k), true
	}
	isRecord := func(l string) bool {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), e.Comment) {
			return false
		}
		k, ok := recordKey(l)
		return ok && k == e.Key
	}
	isCommentedRecord := func(l string) bool {
		body, ok := commented(l)
		if !ok {
			return false
		}
		k, ok := recordKey(body)
		return ok && k == e.Key
	}
	record := e.Key + e.Separator + e.Value
	var out []string
	changed := false
	switch {
	case e.Line != "" && e.State == StatePresent:
		for _, l := range lines {
			if matchLive(l) {
				return content, false, nil
			}
		}
		done := false
		for _, l := range lines {
			if !done && e.Replaces != "" && strings.TrimRight(l, " \t\r") == e.Replaces {
				l, done = e.Line, true
			}
			out = append(out, l)
		}
		if !done && e.Replaces != "" && !e.Append {
			// The file is not what the runbook was written for (netqmail's rc
			// reads `cat /var/qmail/control/defaultdelivery`, not ./Maildir/):
			// appending would leave the old line live and add a second one.
			return content, false, fmt.Errorf("%s has no line %q to replace with %q: the file is not what the runbook expects; change the step's replaces to the file's line, or add append: true to add the line when it is missing", e.Path, e.Replaces, e.Line)
		}
		if !done {
			out = out[:0]
			for _, l := range lines {
				if body, ok := commented(l); !done && ok && body == e.Line {
					l, done = e.Line, true
				}
				out = append(out, l)
			}
		}
		if !done {
			out = append(out, e.Line)
		}
		changed = true
	case e.Line != "":
		for _, l := range lines {
			switch e.State {
			case StateAbsent:
				if matchLive(l) {
					changed = true
					continue
				}
			case StateCommented:
				if matchLive(l) {
					l, changed = e.Comment+" "+e.Line, true
				}
			case StateUncommented:
				if body, ok := commented(l); ok && body == e.Line {
					l, changed = e.Line, true
				}
			}
			out = append(out, l)
		}
		if e.State == StateUncommented && !changed {
			found := false
			for _, l := range lines {
				found = found || matchLive(l)
			}
			if !found {
				return content, false, fmt.Errorf("%s has no line %q, commented or not", e.Path, e.Line)
			}
		}
	default: // a KEY=VALUE record
		found := false
		for _, l := range lines {
			switch e.State {
			case StatePresent:
				if isRecord(l) {
					if found {
						changed = true // a duplicate record: the first wins, the rest go
						continue
					}
					found = true
					if l != record {
						l, changed = record, true
					}
				}
			case StateAbsent:
				if isRecord(l) {
					changed = true
					continue
				}
			case StateCommented:
				if isRecord(l) {
					l, changed = e.Comment+" "+l, true
				}
			case StateUncommented:
				if isCommentedRecord(l) {
					body, _ := commented(l)
					if e.Value != "" {
						body = record
					}
					l, changed = body, true
				}
			}
			out = append(out, l)
		}
		if e.State == StatePresent && !found {
			// Uncomment a commented record in place, else append.
			placed := false
			for i, l := range out {
				if isCommentedRecord(l) {
					out[i], placed = record, true
					break
				}
			}
			if !placed {
				out = append(out, record)
			}
			changed = true
		}
	}
	if !changed {
		return content, false, nil
	}
	res := strings.Join(out, "\n")
	if trailing || e.State == StatePresent {
		res += "\n"
	}
	if len(out) == 0 {
		res = ""
	}
	return res, true, nil
}
