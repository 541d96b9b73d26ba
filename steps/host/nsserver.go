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

// NSServerCfg is where a node lists its server roots on a real host
// (host-facts: F-LAYOUT-002): the default of the path the callers are given
// ([Wizard] NSServerCfg; a simulated world names its own file).
const NSServerCfg = "/etc/nsserver.cfg"

// ErrNoInstance is the error of a server root that holds no msg-INSTANCE
// directory (a Directory Server's own server root, say).
var ErrNoInstance = errors.New("no msg-INSTANCE directory")

// InstancesError is the error of a server root that holds more than one
// messaging instance: the product allows one per server root (F-LAYOUT-002).
type InstancesError struct {
	Root  string
	Found []string // instance names, without "msg-"
}

func (e *InstancesError) Error() string {
	return fmt.Sprintf("host: %s holds %d messaging instances (msg-%s); the product allows one per server root",
		e.Root, len(e.Found), strings.Join(e.Found, ", msg-"))
}

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
		return "", fmt.Errorf("host: %s holds %w", root, ErrNoInstance)
	case 1:
		return found[0], nil
	}
	return "", &InstancesError{Root: root, Found: found}
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
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNoInstance) {
				continue
			}
			errs = append(errs, err)
			continue
		}
		out = append(out, Layout{Root: r, Instance: inst, Host: hostName})
	}
	return out, errors.Join(errs...)
}
