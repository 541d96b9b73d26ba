package runbook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"mswizard/steps/node"
	"mswizard/wizard"
)

// renderCond substitutes the answers into a condition.
func (v *Values) renderCond(c *Cond) *Cond {
	if c == nil {
		return nil
	}
	out := *c
	out.Command = v.renderAll(c.Command)
	out.Output = v.render(c.Output)
	out.Path = v.render(c.Path)
	out.Port = v.render(c.Port)
	out.Svstat = v.render(c.Svstat)
	if c.UpForT != "" {
		// A reference to a duration answer, checked when the answers were.
		if d, err := time.ParseDuration(v.render(c.UpForT)); err == nil {
			out.UpFor = d
		}
	}
	if c.Grep != nil {
		out.Grep = &Grep{Path: v.render(c.Grep.Path), Pattern: v.render(c.Grep.Pattern)}
	}
	out.Any = nil
	for _, a := range c.Any {
		out.Any = append(out.Any, v.renderCond(a))
	}
	return &out
}

// describe says in words what a condition tests (plan lines, reasons).
func describe(c *Cond) string {
	var s string
	switch {
	case c.Command != nil:
		exits := c.Exit
		if len(exits) == 0 {
			exits = []int{0}
		}
		s = fmt.Sprintf("`%s` exits %s", wizard.ShellQuote(c.Command...), joinInts(exits))
		if c.Output != "" {
			s += fmt.Sprintf(" and prints %q", c.Output)
		}
	case c.Path != "":
		s = c.Path + " exists"
	case c.Grep != nil:
		s = fmt.Sprintf("a line of %s matches %q", c.Grep.Path, c.Grep.Pattern)
	case c.Port != "":
		s = c.Port + " accepts TCP connections"
	case c.Svstat != "":
		s = "svstat " + c.Svstat + " (and " + path.Join(c.Svstat, "log") + ", when it has a log) says up"
		if c.UpFor > 0 {
			s += fmt.Sprintf(" for at least %s", c.UpFor)
		}
	case c.Any != nil:
		var parts []string
		for _, a := range c.Any {
			parts = append(parts, describe(a))
		}
		s = "any of (" + strings.Join(parts, "; ") + ")"
	}
	if c.Not {
		return "not: " + s
	}
	return s
}

func joinInts(xs []int) string {
	var p []string
	for _, x := range xs {
		p = append(p, strconv.Itoa(x))
	}
	return strings.Join(p, " or ")
}

// condResult is one evaluation of a condition.
type condResult struct {
	ok  bool
	why string
	// key identifies what was observed (the pid svstat reports), so a wait
	// for stability can tell a service that stayed up from one that restarted.
	key string
}

// eval tests a condition on n. It only reads. An error means the condition
// could not be tested (a command that cannot start, a lost connection).
func eval(ctx context.Context, n node.Node, c *Cond) (condResult, error) {
	r, err := evalPlain(ctx, n, c)
	if err != nil {
		return r, err
	}
	if c.Not {
		r.ok = !r.ok
		r.why = "not: " + r.why
	}
	return r, nil
}

func evalPlain(ctx context.Context, n node.Node, c *Cond) (condResult, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	switch {
	case c.Command != nil:
		res, err := n.Run(ctx, node.Command{Argv: c.Command, Timeout: timeout})
		if err != nil {
			return condResult{}, fmt.Errorf("check %s: %w", wizard.ShellQuote(c.Command...), err)
		}
		exits := c.Exit
		if len(exits) == 0 {
			exits = []int{0}
		}
		ok := slices.Contains(exits, res.ExitCode)
		why := fmt.Sprintf("`%s` exited %d", wizard.ShellQuote(c.Command...), res.ExitCode)
		if ok && c.Output != "" && !bytes.Contains(res.Output, []byte(c.Output)) {
			ok = false
			why += fmt.Sprintf(" without printing %q", c.Output)
		}
		return condResult{ok: ok, why: why}, nil
	case c.Path != "":
		_, err := n.Lstat(ctx, c.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return condResult{why: c.Path + " does not exist"}, nil
		}
		if err != nil {
			return condResult{}, err
		}
		return condResult{ok: true, why: c.Path + " exists"}, nil
	case c.Grep != nil:
		re, err := regexp.Compile(c.Grep.Pattern)
		if err != nil {
			return condResult{}, fmt.Errorf("pattern %q: %w", c.Grep.Pattern, err)
		}
		b, err := n.ReadFile(ctx, c.Grep.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return condResult{why: c.Grep.Path + " does not exist"}, nil
		}
		if err != nil {
			return condResult{}, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if re.MatchString(line) {
				return condResult{ok: true, why: fmt.Sprintf("%s has %q", c.Grep.Path, strings.TrimSpace(line))}, nil
			}
		}
		return condResult{why: fmt.Sprintf("no line of %s matches %q", c.Grep.Path, c.Grep.Pattern)}, nil
	case c.Port != "":
		// From the control host: a port is what clients see.
		d := net.Dialer{Timeout: 2 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", c.Port)
		if err != nil {
			return condResult{why: fmt.Sprintf("%s refuses connections (%v)", c.Port, err)}, nil
		}
		conn.Close()
		return condResult{ok: true, why: c.Port + " accepts connections"}, nil
	case c.Svstat != "" && c.UpForT != "" && c.UpFor <= 0:
		// Validation allows only a duration answer here; never read a value
		// that is no duration as "up for no time at all".
		return condResult{}, fmt.Errorf("up_for %q is not a duration", c.UpForT)
	case c.Svstat != "":
		return evalSvstat(ctx, n, c)
	case c.Any != nil:
		var whys []string
		for _, a := range c.Any {
			r, err := eval(ctx, n, a)
			if err != nil {
				whys = append(whys, "cannot tell: "+err.Error())
				continue
			}
			if r.ok {
				return r, nil
			}
			whys = append(whys, r.why)
		}
		return condResult{why: strings.Join(whys, "; ")}, nil
	}
	return condResult{}, errors.New("empty condition")
}

// evalSvstat tests a daemontools service and, when it has one, its log
// service: seed 001 proves each migrated service "stays up" with svstat, and
// a multilog that cannot write (its directory owned by another user, an s
// outside 4096..16777215) exits at once and supervise restarts it every
// second, while the main service stays up with its output piped to nobody.
// So DIR/log, when it exists, must be up for as long as DIR, and a restart of
// either (a new pid) counts as a change for a wait's stable time.
func evalSvstat(ctx context.Context, n node.Node, c *Cond) (condResult, error) {
	dirs := []string{c.Svstat}
	logDir := path.Join(c.Svstat, "log")
	if _, err := n.Lstat(ctx, logDir); err == nil {
		dirs = append(dirs, logDir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return condResult{}, fmt.Errorf("svstat %s: %w", logDir, err)
	}
	sts := make([]svstatus, len(dirs))
	var lines, keys []string
	for i, d := range dirs {
		st, err := svstat(ctx, n, d)
		if err != nil {
			return condResult{}, err
		}
		sts[i] = st
		lines, keys = append(lines, st.line), append(keys, d+" pid "+strconv.Itoa(st.pid))
	}
	key := strings.Join(keys, "; ")
	for _, st := range sts {
		switch {
		case !st.running():
			return condResult{why: "svstat: " + st.line, key: key}, nil
		case st.seconds < int64(c.UpFor/time.Second):
			return condResult{why: fmt.Sprintf("svstat: %s (not yet up for %s)", st.line, c.UpFor), key: key}, nil
		}
	}
	return condResult{ok: true, why: "svstat: " + strings.Join(lines, "; "), key: key}, nil
}

// restarted names what changed between two keys of the same condition
// ("DIR/log pid 12" then "DIR/log pid 15"): for svstat, the services that
// restarted.
func restarted(prev, cur string) string {
	was := map[string]string{}
	for _, p := range strings.Split(prev, "; ") {
		if name, v, ok := strings.Cut(p, " pid "); ok {
			was[name] = v
		}
	}
	var out []string
	for _, p := range strings.Split(cur, "; ") {
		if name, v, ok := strings.Cut(p, " pid "); ok && was[name] != "" && was[name] != v {
			out = append(out, fmt.Sprintf("%s (pid %s, then %s)", name, was[name], v))
		}
	}
	return strings.Join(out, ", ")
}

// svstatus is what svstat(8) prints for a service directory (daemontools
// 0.76 svstat.c; host-facts F-SUP-002, its logger DIR/log F-SUP-003): "DIR: up (pid 123) 45 seconds", "DIR: down 3 seconds,
// normally up", then any of ", normally down", ", paused", ", want up",
// ", want down"; or "DIR: supervise not running".
type svstatus struct {
	line    string
	up      bool
	pid     int
	seconds int64
	paused  bool   // svc -p: the process is stopped (SIGSTOP)
	want    string // "up" or "down": svc asked for it and it is not so yet
}

// running is up in the sense a proof needs: a process, not stopped, and not
// on its way down.
func (st svstatus) running() bool { return st.up && !st.paused && st.want != "down" }

var svstatRE = regexp.MustCompile(`: (up|down)(?: \(pid (\d+)\))? (\d+) seconds((?:, [a-z ]+)*)$`)

// parseSvstat reads one line of svstat's output; a line it does not know
// ("supervise not running", "unable to open supervise/ok") is not up.
func parseSvstat(line string) svstatus {
	line = strings.TrimSpace(line)
	st := svstatus{line: line}
	m := svstatRE.FindStringSubmatch(line)
	if m == nil {
		return st
	}
	st.up = m[1] == "up"
	st.pid, _ = strconv.Atoi(m[2])
	st.seconds, _ = strconv.ParseInt(m[3], 10, 64)
	for _, f := range strings.Split(m[4], ", ") {
		switch f {
		case "paused":
			st.paused = true
		case "want up":
			st.want = "up"
		case "want down":
			st.want = "down"
		}
	}
	return st
}

func svstat(ctx context.Context, n node.Node, dir string) (svstatus, error) {
	res, err := n.Run(ctx, node.Command{Argv: []string{"svstat", dir}, Timeout: 10 * time.Second})
	if err != nil {
		return svstatus{}, fmt.Errorf("svstat %s: %w", dir, err)
	}
	return parseSvstat(lastLine(strings.TrimSpace(string(res.Output)))), nil
}
