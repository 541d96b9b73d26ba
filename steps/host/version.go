package host

// The installed version, from what the product itself leaves on the host
// (docs/host-facts.md, rows F-VER-001 and F-VER-002). Nothing here reads a
// file the wizard or the simulator invented.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// VersionRunner runs the product's own `imsimta version` and returns what it
// printed. It is the one command the version reading needs; steps pass their
// command runner through it, tests a function.
type VersionRunner interface {
	IMSimtaVersion(ctx context.Context, imsimta string) (string, error)
}

// VersionRunnerFunc adapts a function to VersionRunner.
type VersionRunnerFunc func(ctx context.Context, imsimta string) (string, error)

func (f VersionRunnerFunc) IMSimtaVersion(ctx context.Context, imsimta string) (string, error) {
	return f(ctx, imsimta)
}

// InstalledVersion is what the host says about the Messaging Server version
// installed in one server root, with the evidence it was read from.
type InstalledVersion struct {
	// Version is "5.1", "5.2", ... when the evidence agrees; "" when it cannot
	// be told (Why says why): an unknown version is never taken for either.
	Version string `json:"version,omitempty"`
	Why     string `json:"why,omitempty"`
	// IMSimta is the first line `imsimta version` printed (row F-VER-001).
	IMSimta string `json:"imsimta,omitempty"`
	// SetupInf is the version SERVER-ROOT/setup/install.inf records, "" when
	// it records none (row F-VER-002).
	SetupInf string `json:"setup_inf,omitempty"`
}

// Known reports whether the version could be told.
func (v InstalledVersion) Known() bool { return v.Version != "" }

// Is reports whether the installed version is known and is want ("5.2"), or
// want is a product line naming it ("iPlanet Messaging Server 5.2").
func (v InstalledVersion) Is(want string) bool {
	if !v.Known() {
		return false
	}
	if w := ParseVersion(want); w != "" {
		want = w
	}
	return v.Version == want
}

func (v InstalledVersion) String() string {
	if !v.Known() {
		return "unknown (" + v.Why + ")"
	}
	if v.IMSimta != "" {
		return v.IMSimta
	}
	return v.Version
}

// versionRE finds the release number after the product name in a version
// line: "iPlanet Messaging Server 5.2 HotFix 1.16 (built ...)", "Sun ONE
// Messaging Server 5.2", "Sun Java(tm) System Messaging Server 6.2-3.04"
// (row F-VER-001: the line's exact wording is an assumption; a line without
// "Messaging Server N.N" gives no version).
var versionRE = regexp.MustCompile(`Messaging Server\s+(\d+\.\d+)(?:[.\-\s]|$)`)

// ParseVersion returns the release ("5.2") a version line names, or "".
// A bare release ("5.2") is returned as is.
func ParseVersion(line string) string {
	line = strings.TrimSpace(line)
	if regexp.MustCompile(`^\d+\.\d+$`).MatchString(line) {
		return line
	}
	if m := versionRE.FindStringSubmatch(line); m != nil {
		return m[1]
	}
	return ""
}

// ReadVersion tells the installed version of the Messaging Server in
// serverRoot/msg-instance: `imsimta version` (row F-VER-001) decides; the
// version SERVER-ROOT/setup/install.inf records, where it records one
// (row F-VER-002), must agree. Anything else — imsimta missing or failing, a line
// that names no version, a disagreement — is an unknown version, never a
// guess; the caller fails safe on it.
func ReadVersion(ctx context.Context, r VersionRunner, serverRoot, instance string) InstalledVersion {
	var v InstalledVersion
	v.SetupInf, _ = SetupInfVersion(serverRoot)
	imsimta := filepath.Join(serverRoot, "msg-"+instance, "imsimta")
	out, err := r.IMSimtaVersion(ctx, imsimta)
	first := firstLine(out)
	v.IMSimta = first
	switch {
	case err != nil:
		v.Why = fmt.Sprintf("%s version: %v", imsimta, err)
	case ParseVersion(first) == "":
		v.Why = fmt.Sprintf("%s version printed %q, which names no Messaging Server release", imsimta, first)
	default:
		got := ParseVersion(first)
		if v.SetupInf != "" && v.SetupInf != got {
			v.Why = fmt.Sprintf("%s version says %s but %s records %s", imsimta, got, SetupInf(serverRoot), v.SetupInf)
			break
		}
		v.Version = got
	}
	return v
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// SetupInf is SERVER-ROOT/setup/install.inf, where `setup -k` keeps the
// answers of an installation (appendix C, "Directory Server のアップグレード"
// step 3; post-upgrade step 1 saves it as the upgrade's result).
func SetupInf(serverRoot string) string {
	return filepath.Join(serverRoot, "setup", "install.inf")
}

// SetupInfVersion returns the [MessagingServer] Version that
// SERVER-ROOT/setup/install.inf records, "" when the file or the key is
// absent (row F-VER-002: the key is an assumption, so its absence is no evidence
// either way). The file is read leniently (first "=" splits, "#" comments),
// as setup writes it, not with the wizard's strict answers parser.
func SetupInfVersion(serverRoot string) (string, error) {
	b, err := os.ReadFile(SetupInf(serverRoot))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	sec := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			sec = l[1 : len(l)-1]
			continue
		}
		k, val, ok := strings.Cut(l, "=")
		if ok && sec == "MessagingServer" && strings.TrimSpace(k) == "Version" {
			return ParseVersion(strings.TrimSpace(val)), nil
		}
	}
	return "", nil
}
