package node

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"mswizard/wizard/answers"
)

// Config is one node as the answers file names it.
type Config struct {
	Name       string
	Address    string // host:port
	User       string
	KeyFile    string // private key file; "" when Agent
	Agent      bool   // authenticate through the agent at $SSH_AUTH_SOCK
	KnownHosts string // the known_hosts file the node's host key must be in
	// ConnectTimeout bounds the TCP connect and SSH handshake (default 15s).
	ConnectTimeout time.Duration
	// KeepAlive is the interval of keepalive requests that notice a dead peer
	// while a command runs (default 15s; three missed replies drop the link).
	KeepAlive time.Duration
	File      string // answers file and line the node came from, for messages
	Line      int
}

// SectionNodes is the answers section that names the nodes.
const SectionNodes = "Nodes"

// Reserved node names: "local" is the control host, "each" means every node
// in turn in a runbook step.
var reserved = map[string]bool{"local": true, "each": true}

var nodeName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`)

// ParseNodes reads the [Nodes] section of an answers file: one line per node,
// in the order the nodes are listed (which is the order "each" walks them):
//
//	[Nodes]
//	node1 = address=172.1.1.1:22 user=root key=/root/.ssh/id_ed25519 known_hosts=/etc/mswizard/known_hosts
//	node2 = address=172.1.1.2 user=root agent=yes known_hosts=/etc/mswizard/known_hosts
//
// Fields are space-separated name=value pairs (values without spaces):
// address (host or host:port, port 22 by default), user, exactly one of
// key=FILE or agent=yes, known_hosts=FILE (required: there is no "accept any
// host key"), and optional connect_timeout= and keepalive= (Go durations).
// There is no password field: SSH passwords never go into an answers file,
// argv or the journal. Every problem is reported at once as FILE:LINE.
func ParseNodes(f *answers.File) ([]Config, answers.Problems) {
	s := f.Section(SectionNodes)
	if s == nil {
		return nil, nil
	}
	var out []Config
	var probs answers.Problems
	bad := func(line int, format string, a ...any) {
		probs = append(probs, answers.Problem{File: f.Name, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	seen := map[string]int{}
	for _, kv := range s.Keys {
		c, errs := parseNodeLine(kv.Key, kv.Value)
		for _, e := range errs {
			bad(kv.Line, "[%s] %s: %s", SectionNodes, kv.Key, e)
		}
		if first, dup := seen[kv.Key]; dup {
			bad(kv.Line, "[%s] node %q is named twice (first at line %d); keep one", SectionNodes, kv.Key, first)
			continue
		}
		seen[kv.Key] = kv.Line
		if len(errs) == 0 {
			c.File, c.Line = f.Name, kv.Line
			out = append(out, c)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return out, nil
}

func parseNodeLine(name, value string) (Config, []string) {
	c := Config{Name: name}
	var errs []string
	switch {
	case reserved[name]:
		errs = append(errs, fmt.Sprintf("%q is reserved (local is the control host, each means every node); name the node otherwise", name))
	case !nodeName.MatchString(name):
		errs = append(errs, "a node name is a letter followed by letters, digits, '-' or '_'")
	}
	fields := map[string]bool{}
	for _, tok := range strings.Fields(value) {
		k, v, ok := strings.Cut(tok, "=")
		if !ok || v == "" {
			errs = append(errs, fmt.Sprintf("%q: write field=value", tok))
			continue
		}
		if fields[k] {
			errs = append(errs, fmt.Sprintf("field %s given twice", k))
			continue
		}
		fields[k] = true
		switch k {
		case "address":
			host, port, err := net.SplitHostPort(v)
			if err != nil {
				host, port = v, "22"
			}
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
				errs = append(errs, fmt.Sprintf("address %q: write host or host:port (port 1..65535)", v))
				continue
			}
			c.Address = net.JoinHostPort(host, port)
		case "user":
			c.User = v
		case "key":
			if !filepath.IsAbs(v) {
				errs = append(errs, fmt.Sprintf("key %q: give an absolute path", v))
			}
			c.KeyFile = v
		case "agent":
			switch v {
			case "yes", "true":
				c.Agent = true
			case "no", "false":
			default:
				errs = append(errs, fmt.Sprintf("agent=%s: write agent=yes or leave it out", v))
			}
		case "known_hosts":
			if !filepath.IsAbs(v) {
				errs = append(errs, fmt.Sprintf("known_hosts %q: give an absolute path", v))
			}
			c.KnownHosts = v
		case "connect_timeout", "keepalive":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Sprintf("%s=%s: write a duration such as 15s", k, v))
				continue
			}
			if k == "keepalive" {
				c.KeepAlive = d
			} else {
				c.ConnectTimeout = d
			}
		case "password", "pass", "passwd", "passphrase":
			errs = append(errs, fmt.Sprintf("%s: passwords are not accepted; use key=FILE or agent=yes (ssh-add the key)", k))
		default:
			errs = append(errs, fmt.Sprintf("unknown field %q (known: address, user, key, agent, known_hosts, connect_timeout, keepalive)", k))
		}
	}
	if c.Address == "" {
		errs = append(errs, "address= is missing")
	}
	if c.User == "" {
		errs = append(errs, "user= is missing")
	}
	if c.KnownHosts == "" {
		errs = append(errs, "known_hosts= is missing (host keys are always checked)")
	}
	switch {
	case c.KeyFile != "" && c.Agent:
		errs = append(errs, "give key= or agent=yes, not both")
	case c.KeyFile == "" && !c.Agent:
		errs = append(errs, "give key=FILE or agent=yes")
	}
	return c, errs
}

// String names the node for messages: name (user@address).
func (c Config) String() string {
	return fmt.Sprintf("%s (%s@%s)", c.Name, c.User, c.Address)
}
