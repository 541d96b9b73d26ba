package configdiff

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Configutil sets and reads Messaging Server configuration parameters the
// way the product documents, `configutil -o NAME -v VALUE` and `configutil -o
// NAME` (iPlanet Messaging Server 5.2 Reference Manual, chapter 1,
// "configutil"; docs/host-facts.md F-MRG-002), instead of the merge
// editing local.conf and msg.conf itself: configutil knows which store a
// parameter lives in (local.conf for local.*, the configuration directory and
// its cache otherwise).
type Configutil interface {
	// Set gives name the value; "" clears it (F-MRG-003).
	Set(ctx context.Context, name, value string) error
	// Get returns the value configutil reports for name ("" when unset).
	Get(ctx context.Context, name string) (string, error)
}

// ConfigutilChange is one parameter the merge set through configutil.
type ConfigutilChange struct {
	File  string `json:"file"`
	Name  string `json:"name"`
	Value string `json:"value"` // REDACTED for a credential
	Clear bool   `json:"clear,omitempty"`
}

// secretParam says whether a configutil parameter holds a credential
// (local.ugldapbindcred, *.password, ...): its value never reaches a report.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"cred", "passw", "pwd", "secret"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// names maps a configutil file's keys to the parameter names as written.
func names(d *doc) map[string]string {
	out := map[string]string{}
	for _, it := range d.items {
		if it.key == "" || strings.Contains(it.key, "#") {
			continue
		}
		n, _, _ := strings.Cut(strings.TrimSpace(it.text), "=")
		out[it.key] = strings.TrimSpace(n)
	}
	return out
}

// applyConfigutil brings a configutil file's parameters to the merged
// values through cu: each parameter whose live value differs is set, each the
// merge removed is cleared, and every one is read back. The pre-merge copy is
// kept as for any merged file, so a resumed merge starts from it again.
func applyConfigutil(ctx context.Context, t Tree, m merged, cu Configutil) ([]ConfigutilChange, error) {
	dst := filepath.Join(t.New, filepath.FromSlash(m.v.rel))
	cur, err := os.ReadFile(dst)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("configdiff: read %s: %w", dst, err)
	}
	if m.v.hn {
		if err := savePreMerge(dst, m.v.new); err != nil {
			return nil, err
		}
	}
	target, live := parse(FormatConfigutil, m.data), parse(FormatConfigutil, cur)
	tk, lk := target.keyed(), live.keyed()
	tn, ln := names(target), names(live)
	var keys []string
	for k := range tk {
		keys = append(keys, k)
	}
	for k := range lk {
		if _, ok := tk[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var changes []ConfigutilChange
	for _, k := range keys {
		if strings.Contains(k, "#") {
			continue // a duplicate line: configutil sets the one parameter
		}
		want, inTarget := tk[k]
		have, inLive := lk[k]
		if inTarget && inLive && want.value == have.value {
			continue
		}
		if !inTarget && (!inLive || have.value == "") {
			continue
		}
		name := tn[k]
		if name == "" {
			name = ln[k]
		}
		ch := ConfigutilChange{File: m.v.rel, Name: name, Value: want.value, Clear: !inTarget}
		if err := cu.Set(ctx, name, want.value); err != nil {
			return changes, fmt.Errorf("configdiff: configutil -o %s: %w", name, err)
		}
		got, err := cu.Get(ctx, name)
		if err != nil {
			return changes, fmt.Errorf("configdiff: configutil -o %s (read back): %w", name, err)
		}
		if got != want.value {
			shown := fmt.Sprintf("%q, want %q", got, want.value)
			if secretParam(name) {
				shown = "another value"
			}
			return changes, fmt.Errorf("configdiff: configutil -o %s reads back %s after setting it", name, shown)
		}
		if secretParam(name) {
			ch.Value = "REDACTED"
		}
		changes = append(changes, ch)
	}
	return changes, nil
}
