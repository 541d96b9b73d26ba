package host

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// NSServerCfg is where a node lists its server roots (host-facts: F-LAYOUT-002).
const NSServerCfg = "/etc/nsserver.cfg"

// ServerRoots reads a node's server roots from nsserver.cfg: one absolute
// path per line; blank lines and `#` comments are skipped (the file's syntax
// beyond "it lists the server roots" is not documented: an assumption, so a
// line that is not an absolute path is reported, never guessed at).
func ServerRoots(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("host: server roots: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if !filepath.IsAbs(line) {
			return nil, fmt.Errorf("host: %s:%d: %q is not a server root (an absolute path)", path, n, line)
		}
		if !slices.Contains(out, filepath.Clean(line)) {
			out = append(out, filepath.Clean(line))
		}
	}
	return out, sc.Err()
}

// Instance finds the one messaging instance of a server root: its single
// msg-INSTANCE directory (host-facts: F-LAYOUT-002, seed 004: one instance per
// server root). None, or more than one, is an error naming what was found.
func Instance(root string) (string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return "", fmt.Errorf("host: server root: %w", err)
	}
	var found []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "msg-") && len(e.Name()) > 4 {
			found = append(found, strings.TrimPrefix(e.Name(), "msg-"))
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("host: %s holds no msg-INSTANCE directory", root)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("host: %s holds %d messaging instances (msg-%s); the product allows one per server root", root, len(found), strings.Join(found, ", msg-"))
}

// Discover lists the messaging instances of a node from nsserver.cfg: for each
// server root, its one instance. A server root without a messaging instance
// (a Directory Server's own, say) is left out; one with several is an error.
func Discover(nsserverCfg, hostName string) ([]Layout, error) {
	roots, err := ServerRoots(nsserverCfg)
	if err != nil {
		return nil, err
	}
	var out []Layout
	var errs []error
	for _, r := range roots {
		inst, err := Instance(r)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "holds no msg-") {
				continue
			}
			errs = append(errs, err)
			continue
		}
		out = append(out, Layout{Root: r, Instance: inst, Host: hostName})
	}
	return out, errors.Join(errs...)
}
