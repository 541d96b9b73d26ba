package service

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"mswizard/fixtures/layout"
)

// LocalConf holds the parameters of local.conf, keys lower-cased.
//
// The byte format of local.conf is not documented (FORMATS.md §2.1), so the
// reader is lenient: `!` and `#` comment lines, `name = value` or `name=value`
// (also `name: value`), optional double quotes around the value. The last
// assignment of a name wins, as configutil's rewrite would leave it.
type LocalConf map[string]string

// ReadLocalConf reads one local.conf or msg.conf; a missing file is an empty
// LocalConf.
func ReadLocalConf(path string) (LocalConf, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return LocalConf{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("local.conf: %w", err)
	}
	return ParseLocalConf(b), nil
}

// ParseLocalConf parses local.conf text (see LocalConf).
func ParseLocalConf(b []byte) LocalConf {
	m := LocalConf{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '!' || line[0] == '#' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i <= 0 {
			continue
		}
		k := strings.ToLower(strings.TrimSpace(line[:i]))
		if strings.ContainsAny(k, " \t") {
			continue
		}
		m[k] = unquote(strings.TrimSpace(line[i+1:]))
	}
	return m
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// ReadConfig reads msg.conf and then local.conf of a host, local.conf winning:
// MS 5.x keeps startup parameters in msg.conf and `local.` names and local
// overrides in local.conf (FORMATS.md §2.1).
func ReadConfig(w layout.World) (LocalConf, error) {
	m := LocalConf{}
	for _, p := range []string{w.MsgConf(), w.LocalConf()} {
		c, err := ReadLocalConf(p)
		if err != nil {
			return nil, err
		}
		for k, v := range c {
			m[k] = v
		}
	}
	return m, nil
}

// Value returns a parameter and whether it is set.
func (c LocalConf) Value(name string) (string, bool) {
	v, ok := c[strings.ToLower(name)]
	return v, ok
}

// Bool reads a switch written yes|no, 1|0, on|off or true|false (FORMATS.md §2.1);
// an absent or unreadable value gives def.
func (c LocalConf) Bool(name string, def bool) bool {
	v, ok := c.Value(name)
	if !ok {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "1", "on", "true", "y":
		return true
	case "no", "0", "off", "false", "n":
		return false
	}
	return def
}

// Int reads an integer parameter, 0 when absent or malformed.
func (c LocalConf) Int(name string) int {
	v, _ := c.Value(name)
	n, _ := parseInt(v)
	return n
}

// Enabled reports whether start-msg starts a messaging service, from its
// switch in local.conf (seed 000 §4.4.2.1). IMAP, POP and HTTP are off only when
// both service.X.enable and service.X.enablesslport are off. The store is
// always started; the MTA (dispatcher, job_controller) follows local.imta.enable.
func (c LocalConf) Enabled(service string) bool {
	switch service {
	case "imap", "pop", "http":
		return c.Bool("service."+service+".enable", true) ||
			c.Bool("service."+service+".enablesslport", false)
	case "dispatcher", "job_controller":
		return c.Bool("local.imta.enable", true)
	case "store":
		return true
	default: // watcher, ens, sched, and the rest: local.X.enable
		return c.Bool("local."+service+".enable", true)
	}
}

// parseInt reads a decimal integer or the option-file form b%v (base b, e.g.
// 16%FF, FORMATS.md §2.4 and §2.6).
func parseInt(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if b, v, ok := strings.Cut(s, "%"); ok {
		base, err := strconv.Atoi(b)
		if err != nil || base < 2 || base > 36 {
			return 0, false
		}
		n, err := strconv.ParseInt(v, base, 32)
		return int(n), err == nil
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// firstPort reads the first port of a list such as "25" or "25,587".
func firstPort(v string) int {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, ", \t"); i >= 0 {
		v = v[:i]
	}
	n, ok := parseInt(v)
	if !ok || n <= 0 || n > 65535 {
		return 0
	}
	return n
}

// Ports maps a unit name to the TCP port it listens on. Unit names are the
// messaging services (watcher, ens, store, imap, pop, http, sched, dispatcher,
// job_controller), "admin", and the web server instances ("https-admserv",
// "https-HOST"). A unit missing from the map has no port to check.
type Ports map[string]int

// Documented default ports, used when the host's files do not name one.
var defaultPorts = map[string]int{
	"imap":           143,   // service.imap.port
	"pop":            110,   // service.pop.port
	"http":           80,    // service.http.port
	"dispatcher":     25,    // dispatcher.cnf [SERVICE=SMTP] PORT
	"job_controller": 27442, // job_controller.cnf TCP_PORT (FORMATS.md §2.7)
}

// ReadPorts reads the ports of a host from its own files: local.conf
// (service.imap.port, service.pop.port, service.http.port, local.watcher.port,
// local.ens.port, local.store.port, local.sched.port), dispatcher.cnf
// ([SERVICE=SMTP] PORT=), job_controller.cnf (TCP_PORT=), admin-serv/config/adm.conf
// (port:) and each https-*/config/magnus.conf (Port). Missing files are not an
// error: the documented defaults apply where there are some.
func ReadPorts(w layout.World) (Ports, error) {
	p := Ports{}
	for k, v := range defaultPorts {
		p[k] = v
	}
	lc, err := ReadConfig(w)
	if err != nil {
		return nil, err
	}
	for _, kv := range [][2]string{
		{"imap", "service.imap.port"}, {"pop", "service.pop.port"}, {"http", "service.http.port"},
		{"watcher", "local.watcher.port"}, {"ens", "local.ens.port"},
		{"store", "local.store.port"}, {"sched", "local.sched.port"},
	} {
		if n := lc.Int(kv[1]); n > 0 {
			p[kv[0]] = n
		}
	}
	// IMAP, POP and HTTP enabled only on their SSL port answer there.
	for _, s := range []string{"imap", "pop", "http"} {
		if !lc.Bool("service."+s+".enable", true) && lc.Bool("service."+s+".enablesslport", false) {
			if n := lc.Int("service." + s + ".sslport"); n > 0 {
				p[s] = n
			}
		}
	}
	if b, err := readOptional(filepath.Join(w.IMTAConfig(), "dispatcher.cnf")); err != nil {
		return nil, err
	} else if n := DispatcherPort(b); n > 0 {
		p["dispatcher"] = n
	}
	if b, err := readOptional(filepath.Join(w.IMTAConfig(), "job_controller.cnf")); err != nil {
		return nil, err
	} else if n := JobControllerPort(b); n > 0 {
		p["job_controller"] = n
	}
	if b, err := readOptional(w.AdmConf()); err != nil {
		return nil, err
	} else if n := AdmPort(b); n > 0 {
		p["admin"] = n
	}
	for _, inst := range webInstances(w) {
		b, err := readOptional(filepath.Join(w.WebDir(inst), "config", "magnus.conf"))
		if err != nil {
			return nil, err
		}
		if n := MagnusPort(b); n > 0 {
			p[inst] = n
		}
	}
	return p, nil
}

func readOptional(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ports: %w", err)
	}
	return b, nil
}

// optionLines yields the non-comment lines of an option file with the section
// they sit in ("" before any, else the upper-cased "TYPE=VALUE").
func optionLines(b []byte, f func(section, key, value string)) {
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '!' || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				end = len(line)
			}
			section = strings.ToUpper(strings.ReplaceAll(line[1:end], " ", ""))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		f(section, strings.ToUpper(strings.TrimSpace(k)), strings.TrimSpace(v))
	}
}

// DispatcherPort reads PORT= of the [SERVICE=SMTP] section of dispatcher.cnf
// (FORMATS.md §2.6): the first port of the list, b%v integers allowed. A PORT
// among the defaults before any section applies when the section names none.
func DispatcherPort(b []byte) int {
	global, smtp := 0, 0
	optionLines(b, func(section, k, v string) {
		if k != "PORT" {
			return
		}
		switch section {
		case "":
			global = firstPort(v)
		case "SERVICE=SMTP":
			if n := firstPort(v); n > 0 {
				smtp = n
			}
		}
	})
	if smtp > 0 {
		return smtp
	}
	return global
}

// JobControllerPort reads TCP_PORT= among the global options of
// job_controller.cnf, case-insensitively (FORMATS.md §2.7).
func JobControllerPort(b []byte) int {
	port := 0
	optionLines(b, func(section, k, v string) {
		if section == "" && k == "TCP_PORT" {
			port = firstPort(v)
		}
	})
	return port
}

// AdmPort reads `port: N` of the Administration Server's adm.conf.
func AdmPort(b []byte) int {
	port := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "port") {
			port = firstPort(v)
		}
	}
	return port
}

// MagnusPort reads the `Port N` directive of a web server's magnus.conf.
func MagnusPort(b []byte) int {
	port := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && strings.EqualFold(f[0], "Port") {
			port = firstPort(f[1])
		}
	}
	return port
}

// webInstances lists the web server instances present under the server root: the
// layout's https-admserv and https-HOST first, then any other https-* directory.
func webInstances(w layout.World) []string {
	var out []string
	seen := map[string]bool{}
	for _, inst := range w.WebInstances() {
		if isDir(w.WebDir(inst)) {
			out = append(out, inst)
			seen[inst] = true
		}
	}
	matches, _ := filepath.Glob(filepath.Join(w.ServerRoot(), "https-*"))
	for _, m := range matches {
		inst := filepath.Base(m)
		if !seen[inst] && isDir(m) {
			out = append(out, inst)
		}
	}
	return out
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
