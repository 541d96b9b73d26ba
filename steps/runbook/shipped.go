package runbook

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// shipped holds the runbooks that come with the wizard, by id.
//
//go:embed shipped/*.yaml
var shipped embed.FS

// Shipped lists the ids of the runbooks that come with the wizard.
func Shipped() []string {
	ents, _ := fs.ReadDir(shipped, "shipped")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Load reads a runbook by shipped id or file path. A name with a slash or a
// .yaml/.yml suffix is a file; anything else is a shipped id.
func Load(name string) (*Runbook, error) {
	if IsFile(name) {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, Problems{{File: name, Msg: fmt.Sprintf("cannot read: %v", err)}}
		}
		return Parse(name, data)
	}
	data, err := shipped.ReadFile("shipped/" + name + ".yaml")
	if errors.Is(err, fs.ErrNotExist) {
		msg := fmt.Sprintf("no shipped runbook %q (shipped: %s; a runbook file is given by its path)", name, strings.Join(Shipped(), ", "))
		if s := suggest(name, Shipped()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, Problems{{File: name, Msg: msg}}
	}
	if err != nil {
		return nil, err
	}
	return Parse(name+".yaml", data)
}

// IsFile says whether a RUNBOOK argument names a file rather than a shipped id.
func IsFile(name string) bool {
	return strings.ContainsRune(name, '/') || strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}
