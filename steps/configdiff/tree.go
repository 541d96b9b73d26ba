package configdiff

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"mswizard/internal/atomicfile"
)

// Tree names the three directories a merge reads. Each holds the same
// relative layout as msg-INSTANCE: config/local.conf, config/msg.conf,
// imta/config/*, html/** (the files the 5.2 installer moves into
// backup.TIMESTAMP, install guide appendix C, "Messaging Server 5.2 へのア
// ップグレード" step 1).
type Tree struct {
	// Base holds the old version's pristine defaults (from the installer
	// payload); "" means none, and the merge is two-way.
	Base string
	// Old is msg-INSTANCE/backup.TIMESTAMP: the operator's live config
	// before the upgrade.
	Old string
	// New is the live msg-INSTANCE with the new version's files; Merge
	// writes here.
	New string
	// Configutil, when set, is how Merge changes local.conf and msg.conf:
	// parameter by parameter through the product's configutil, as the
	// manuals require, not by rewriting the files. Nil (the read-only diff,
	// tests of the merge logic) writes them as any other file.
	Configutil Configutil `json:"-"`
}

// PreMergeSuffix is appended to a file's name for the copy of the new
// version's file kept beside the merged one.
const PreMergeSuffix = ".pre-merge"

// markerName is the file in Tree.New that records a merge in progress:
// which backup it merges and the pre-merge copies it made.
const markerName = ".mswizard-configdiff.json"

// ErrForeignPreMerge is returned by Merge when FILE.pre-merge copies exist
// that this merge (same backup directory, same copies) did not make.
var ErrForeignPreMerge = errors.New("pre-merge files from another merge")

// inScope reports whether a path relative to msg-INSTANCE is one of the
// files the installer backs up.
func inScope(rel string) bool {
	switch {
	case rel == "config/local.conf", rel == "config/msg.conf":
		return true
	case strings.HasPrefix(rel, "imta/config/"), strings.HasPrefix(rel, "html/"):
		return !strings.HasSuffix(rel, PreMergeSuffix) && !strings.Contains(path.Base(rel), ".configdiff-tmp")
	}
	return false
}

// listFiles returns the in-scope regular files under root, relative and
// slash-separated. A missing root or subtree lists nothing.
func listFiles(ctx context.Context, root string) ([]string, error) {
	if root == "" {
		return nil, nil
	}
	var out []string
	for _, sub := range []string{"config", "imta/config", "html"} {
		top := filepath.Join(root, filepath.FromSlash(sub))
		err := filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if !e.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if inScope(rel) {
				out = append(out, rel)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("configdiff: list %s: %w", top, err)
		}
	}
	return out, nil
}

// readOpt reads dir/rel; a missing file is (nil, false, nil).
func readOpt(dir, rel string) ([]byte, bool, error) {
	if dir == "" {
		return nil, false, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("configdiff: read: %w", err)
	}
	return b, true, nil
}

// version is one file as each side has it.
type version struct {
	rel            string
	base, old, new []byte
	hb, ho, hn     bool
}

// marker is the merge-in-progress record kept in Tree.New.
type marker struct {
	Version  int               `json:"version"`
	Old      string            `json:"old"`
	Base     string            `json:"base,omitempty"`
	PreMerge map[string]string `json:"pre_merge"` // rel -> sha256 of the new version's file
	Created  []string          `json:"created,omitempty"`
}

func readMarker(dir string) (*marker, error) {
	b, err := os.ReadFile(filepath.Join(dir, markerName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("configdiff: read merge marker: %w", err)
	}
	var m marker
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("configdiff: read merge marker: %w", err)
	}
	return &m, nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// load reads every file of the union of the three trees. When mk is set
// (a merge being resumed), the new version of a file is its pre-merge copy
// and files the merge created count as absent from the new version.
func load(ctx context.Context, t Tree, mk *marker) ([]version, error) {
	seen := map[string]bool{}
	var rels []string
	for _, dir := range []string{t.Base, t.Old, t.New} {
		fs, err := listFiles(ctx, dir)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if !seen[f] {
				seen[f] = true
				rels = append(rels, f)
			}
		}
	}
	if mk != nil {
		for rel := range mk.PreMerge {
			if !seen[rel] { // removed by the merge; its pre-merge copy remains
				seen[rel] = true
				rels = append(rels, rel)
			}
		}
	}
	sort.Strings(rels)
	out := make([]version, 0, len(rels))
	for _, rel := range rels {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v := version{rel: rel}
		var err error
		if v.base, v.hb, err = readOpt(t.Base, rel); err != nil {
			return nil, err
		}
		if v.old, v.ho, err = readOpt(t.Old, rel); err != nil {
			return nil, err
		}
		newRel := rel
		if mk != nil {
			if _, ok := mk.PreMerge[rel]; ok {
				if _, ok, _ := readOpt(t.New, rel+PreMergeSuffix); ok {
					newRel = rel + PreMergeSuffix
				}
			}
		}
		if v.new, v.hn, err = readOpt(t.New, newRel); err != nil {
			return nil, err
		}
		if mk != nil && slices.Contains(mk.Created, rel) {
			v.new, v.hn = nil, false
		}
		out = append(out, v)
	}
	return out, nil
}

// isBinary reports whether b looks like a binary file (a NUL in its first
// 8 KiB, as GNU diff decides).
func isBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8192)], 0) >= 0
}

// Diff compares the operator's old files (t.Old) with the new ones (t.New)
// without writing anything: per file, the keyed changes and a unified diff;
// with a base, each change says who made it. It is what `mswizard diff`
// prints and may be run at any time.
func Diff(ctx context.Context, t Tree) (*Report, error) {
	vs, err := load(ctx, t, nil)
	if err != nil {
		return nil, err
	}
	return diffReport(t, vs), nil
}

func diffReport(t Tree, vs []version) *Report {
	r := &Report{Base: t.Base, Old: t.Old, New: t.New, Files: []FileReport{}}
	for _, v := range vs {
		r.Files = append(r.Files, fileReport(t.Base != "", v))
	}
	return r
}

func fileReport(threeWay bool, v version) FileReport {
	f := FileReport{Path: v.rel, Format: FormatOf(v.rel)}
	switch {
	case v.ho && !v.hn:
		f.Status = StatusOnlyOld
	case !v.ho && v.hn:
		f.Status = StatusOnlyNew
	case bytes.Equal(v.old, v.new):
		f.Status = StatusSame
		return f
	default:
		f.Status = StatusChanged
	}
	if isBinary(v.old) || isBinary(v.new) {
		f.Binary = true
		return f
	}
	var base *doc
	if threeWay && v.hb {
		base = parse(f.Format, v.base)
	} else if threeWay {
		base = &doc{format: f.Format}
	}
	old, nw := parse(f.Format, v.old), parse(f.Format, v.new)
	_, res := mergeDoc(v.rel, base, old, nw, PolicyAsk, nil)
	for _, rs := range res {
		c := Change{Key: rs.Key, Old: rs.Old, New: rs.New}
		if threeWay {
			c.Base, c.Reason = rs.Base, rs.Reason
		}
		switch {
		case rs.Old == nil:
			c.Kind = KindAdded
		case rs.New == nil:
			c.Kind = KindRemoved
		default:
			c.Kind = KindChanged
		}
		f.Changes = append(f.Changes, c)
	}
	f.Unified = string(Unified(v.old, v.new, "backup/"+v.rel, v.rel))
	return f
}

// Plan computes what Merge would do, without writing. A merge already in
// progress (pre-merge copies and marker present) is planned as its resume.
func Plan(ctx context.Context, t Tree, p Policy, d Decisions) (*Result, error) {
	mk, err := readMarker(t.New)
	if err != nil {
		return nil, err
	}
	if mk != nil && !sameMerge(mk, t) {
		mk = nil
	}
	vs, err := load(ctx, t, mk)
	if err != nil {
		return nil, err
	}
	res, _ := plan(t, vs, p, d)
	return res, nil
}

// merged is the planned content of one file: nil data with remove set
// means the file goes away.
type merged struct {
	v      version
	data   []byte
	remove bool
	change bool // differs from the new version's file
}

func plan(t Tree, vs []version, p Policy, d Decisions) (*Result, []merged) {
	res := &Result{Report: *diffReport(t, vs), Policy: p, Decisions: Decisions{}}
	dec := d.lookup()
	var out []merged
	for _, v := range vs {
		m := merged{v: v, data: v.new}
		exists := v.hn
		var rs []Resolution
		switch {
		case v.ho && v.hn && !isBinary(v.old) && !isBinary(v.new):
			f := FormatOf(v.rel)
			var base *doc
			if t.Base != "" {
				base = &doc{format: f}
				if v.hb {
					base = parse(f, v.base)
				}
			}
			md, r := mergeDoc(v.rel, base, parse(f, v.old), parse(f, v.new), p, dec)
			rs = r
			m.data = md.bytes()
		default:
			// Whole files: binary, or present on one side only.
			var rb, ro, rn item
			rb.value, ro.value, rn.value = string(v.base), string(v.old), string(v.new)
			reason := classify(t.Base != "", rb, ro, rn, v.hb, v.ho, v.hn)
			if reason == "" {
				break
			}
			outc, by := resolve(reason, p, dec[[2]string{v.rel, wholeFileKey}])
			r := Resolution{File: v.rel, Key: wholeFileKey, Reason: reason, Outcome: outc, By: by,
				Old: fileSummary(v.old, v.ho), New: fileSummary(v.new, v.hn)}
			if t.Base != "" {
				r.Base = fileSummary(v.base, v.hb)
			}
			rs = []Resolution{r}
			if outc == OutcomeReapplied {
				m.data, exists = v.old, v.ho
			}
		}
		m.remove = !exists && v.hn
		m.change = exists != v.hn || (exists && !bytes.Equal(m.data, v.new))
		for _, r := range rs {
			switch r.Outcome {
			case OutcomeReapplied:
				res.Reapplied = append(res.Reapplied, r)
			case OutcomeKeptNew:
				res.Kept = append(res.Kept, r)
			default:
				res.Conflicts = append(res.Conflicts, r)
			}
			if r.Outcome != OutcomeUnresolved && r.choosable() {
				ch := ChoiceKeepNew
				if r.Outcome == OutcomeReapplied {
					ch = ChoiceReapply
				}
				res.Decisions = append(res.Decisions, Decision{File: r.File, Key: r.Key, Choice: ch})
			}
		}
		if m.change {
			out = append(out, m)
		}
	}
	return res, out
}

// fileSummary stands for a whole file's content in a Resolution.
func fileSummary(b []byte, ok bool) *string {
	if !ok {
		return nil
	}
	s := fmt.Sprintf("(%d bytes, sha256 %s)", len(b), sum(b)[:12])
	if !isBinary(b) && len(b) <= 200 {
		s = string(b)
	}
	return &s
}

func sameMerge(mk *marker, t Tree) bool {
	return mk.Version == 1 && mk.Old == abs(t.Old) && mk.Base == abs(t.Base)
}

func abs(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// Merge re-applies the operator's customizations (t.Old) onto the new
// files in t.New, by three-way merge against t.Base when given. Each file
// it changes is first copied to FILE.pre-merge, then replaced atomically
// (temp file, fsync, rename, fsync of the directory). Unresolved keys keep
// the new value and are listed in Result.Conflicts; the caller decides what
// that means (batch mode exits 3).
//
// Merge is idempotent and resumable: it records the backup it merges and
// its pre-merge copies in t.New/.mswizard-configdiff.json, and a later run
// for the same backup starts again from those copies (so new Decisions can
// be given), producing the same tree for the same answers. Pre-merge copies
// it did not record — or a marker naming another backup — make it refuse
// with ErrForeignPreMerge rather than treat a merged file as pristine.
func Merge(ctx context.Context, t Tree, p Policy, d Decisions) (*Result, error) {
	switch p {
	case PolicyReapply, PolicyKeepNew, PolicyAsk:
	default:
		return nil, fmt.Errorf("configdiff: merge: unknown policy %q", p)
	}
	mk, err := readMarker(t.New)
	if err != nil {
		return nil, err
	}
	if err := checkPreMerge(ctx, t, mk); err != nil {
		return nil, err
	}
	if mk == nil {
		mk = &marker{Version: 1, Old: abs(t.Old), Base: abs(t.Base), PreMerge: map[string]string{}}
	}
	vs, err := load(ctx, t, mk)
	if err != nil {
		return nil, err
	}
	res, todo := plan(t, vs, p, d)

	// The marker is durable before any pre-merge copy exists, so a crash
	// never leaves a copy this merge would not recognise.
	dirty := false
	for _, m := range todo {
		if _, ok := mk.PreMerge[m.v.rel]; !ok && m.v.hn {
			mk.PreMerge[m.v.rel] = sum(m.v.new)
			dirty = true
		}
		if !m.v.hn && !slices.Contains(mk.Created, m.v.rel) {
			mk.Created = append(mk.Created, m.v.rel)
			dirty = true
		}
	}
	if dirty {
		b, err := json.MarshalIndent(mk, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("configdiff: merge marker: %w", err)
		}
		if err := atomicfile.WriteFile(filepath.Join(t.New, markerName), append(b, '\n'), 0o600); err != nil {
			return nil, err
		}
	}
	// Files put back to the new version by this run (a changed decision)
	// are rewritten too; their pre-merge copy stays.
	for _, v := range vs {
		if slices.ContainsFunc(todo, func(m merged) bool { return m.v.rel == v.rel }) {
			continue
		}
		if _, ok := mk.PreMerge[v.rel]; ok && v.hn {
			todo = append(todo, merged{v: v, data: v.new, change: true})
		}
		if slices.Contains(mk.Created, v.rel) {
			todo = append(todo, merged{v: v, remove: true, change: true})
		}
	}
	for _, m := range todo {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		res.Changed = append(res.Changed, m.v.rel)
		if t.Configutil != nil && FormatOf(m.v.rel) == FormatConfigutil && m.v.hn && !m.remove {
			chs, err := applyConfigutil(ctx, t, m, t.Configutil)
			res.Configutil = append(res.Configutil, chs...)
			if err != nil {
				return res, err
			}
			continue
		}
		if err := apply(t, m); err != nil {
			return res, err
		}
		res.Written = append(res.Written, m.v.rel)
	}
	sort.Strings(res.Written)
	sort.Strings(res.Changed)
	return res, nil
}

// checkPreMerge refuses pre-merge copies that the marker does not vouch
// for: no marker, a marker for another backup, or a copy whose content is
// not what the merge saved.
func checkPreMerge(ctx context.Context, t Tree, mk *marker) error {
	var found []string
	for _, sub := range []string{"config", "imta/config", "html"} {
		top := filepath.Join(t.New, filepath.FromSlash(sub))
		err := filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if e.Type().IsRegular() && strings.HasSuffix(p, PreMergeSuffix) {
				rel, err := filepath.Rel(t.New, p)
				if err != nil {
					return err
				}
				found = append(found, strings.TrimSuffix(filepath.ToSlash(rel), PreMergeSuffix))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("configdiff: look for pre-merge files: %w", err)
		}
	}
	if mk != nil && !sameMerge(mk, t) {
		return fmt.Errorf("configdiff: merge: %s records a merge of %s, not %s: %w", markerName, mk.Old, abs(t.Old), ErrForeignPreMerge)
	}
	for _, rel := range found {
		want, ok := "", false
		if mk != nil {
			want, ok = mk.PreMerge[rel]
		}
		if !ok {
			return fmt.Errorf("configdiff: merge: %s%s: %w", rel, PreMergeSuffix, ErrForeignPreMerge)
		}
		b, err := os.ReadFile(filepath.Join(t.New, filepath.FromSlash(rel+PreMergeSuffix)))
		if err != nil {
			return fmt.Errorf("configdiff: merge: %w", err)
		}
		if sum(b) != want {
			return fmt.Errorf("configdiff: merge: %s%s changed since the merge saved it: %w", rel, PreMergeSuffix, ErrForeignPreMerge)
		}
	}
	return nil
}

// savePreMerge keeps the new version's file beside it as FILE.pre-merge,
// once: a resumed merge starts from it again.
func savePreMerge(dst string, data []byte) error {
	pm := dst + PreMergeSuffix
	if _, err := os.Stat(pm); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(dst); err == nil {
		mode = fi.Mode().Perm()
	}
	return atomicfile.WriteFile(pm, data, mode)
}

// apply writes one merged file: the pre-merge copy first (if the new
// version had the file and no copy exists yet), then the file itself.
func apply(t Tree, m merged) error {
	dst := filepath.Join(t.New, filepath.FromSlash(m.v.rel))
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(dst); err == nil {
		mode = fi.Mode().Perm()
	} else if fi, err := os.Stat(filepath.Join(t.Old, filepath.FromSlash(m.v.rel))); err == nil {
		mode = fi.Mode().Perm()
	}
	if m.v.hn {
		if err := savePreMerge(dst, m.v.new); err != nil {
			return err
		}
	}
	if m.remove {
		if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("configdiff: remove %s: %w", dst, err)
		}
		return atomicfile.SyncDir(filepath.Dir(dst))
	}
	if cur, err := os.ReadFile(dst); err == nil && bytes.Equal(cur, m.data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("configdiff: write %s: %w", dst, err)
	}
	return atomicfile.WriteFile(dst, m.data, mode)
}
