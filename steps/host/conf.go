package host

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// LocalConf holds the parameters of local.conf / msg.conf, keys lower-cased.
//
// The byte format of these files is not documented (host-facts: F-CONF-001 is
// an assumption about the bytes; FORMATS.md §2.1), so the reader is lenient:
// `!` and `#` comment lines, `name = value` or `name=value` (also `name:
// value`), optional double quotes around the value. The last assignment of a
// name wins, as configutil's rewrite would leave it. The wizard changes these
// files only through configutil (host-facts: F-CMD-003).
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

// ReadConfig reads msg.conf and then local.conf of an instance, local.conf
// winning: MS 5.x keeps startup parameters in msg.conf and `local.` names and
// local overrides in local.conf (host-facts: F-CONF-001).
func ReadConfig(l Layout) (LocalConf, error) {
	m := LocalConf{}
	for _, p := range []string{l.MsgConf(), l.LocalConf()} {
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

// Bool reads a switch written yes|no, 1|0, on|off or true|false (FORMATS.md
// §2.1); an absent or unreadable value gives def.
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
// switch (host-facts: F-SVC-002). IMAP, POP and HTTP are off only when both
// service.X.enable and service.X.enablesslport are off. The store is always
// started; the MTA (dispatcher, job_controller) follows local.imta.enable.
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
// 16%FF, host-facts: F-CONF-002).
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

// sectionOption reads option key of [SERVICE=SMTP]-style section sec of an
// option file, falling back to the value among the defaults before any
// section (host-facts: F-CONF-002: "initial option specifications that appear
// before any such section tag apply globally to all sections").
func sectionOption(b []byte, sec, key string) string {
	global, in := "", ""
	optionLines(b, func(section, k, v string) {
		if k != key {
			return
		}
		switch section {
		case "":
			global = v
		case sec:
			in = v
		}
	})
	if in != "" {
		return in
	}
	return global
}

// DispatcherPort reads PORT= of the [SERVICE=SMTP] section of dispatcher.cnf
// (host-facts: F-CONF-002): the first port of the list, b%v integers allowed.
func DispatcherPort(b []byte) int { return firstPort(sectionOption(b, "SERVICE=SMTP", "PORT")) }

// DispatcherAddress reads INTERFACE_ADDRESS of the SMTP service of
// dispatcher.cnf, "" when not set (all interfaces; host-facts: F-ADDR-002).
func DispatcherAddress(b []byte) string {
	return sectionOption(b, "SERVICE=SMTP", "INTERFACE_ADDRESS")
}

// JobControllerPort reads TCP_PORT= among the global options of
// job_controller.cnf, case-insensitively (host-facts: F-CONF-003).
func JobControllerPort(b []byte) int {
	port := 0
	optionLines(b, func(section, k, v string) {
		if section == "" && k == "TCP_PORT" {
			port = firstPort(v)
		}
	})
	return port
}

// JobControllerAddress reads the global INTERFACE_ADDRESS of
// job_controller.cnf (host-facts: F-CONF-003), "" when not set.
func JobControllerAddress(b []byte) string {
	addr := ""
	optionLines(b, func(section, k, v string) {
		if section == "" && k == "INTERFACE_ADDRESS" {
			addr = v
		}
	})
	return addr
}

// AdmPort reads `port: N` of the Administration Server's adm.conf
// (host-facts: F-CONF-004).
func AdmPort(b []byte) int { return firstPort(colonValue(b, "port")) }

// AdmAddress reads `ServerIpAddress:` of adm.conf, "" when not set.
func AdmAddress(b []byte) string { return colonValue(b, "ServerIpAddress") }

func colonValue(b []byte, key string) string {
	val := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), key) {
			val = strings.TrimSpace(v)
		}
	}
	return val
}

// MagnusPort reads the `Port N` directive of a web server's magnus.conf
// (host-facts: F-CONF-005).
func MagnusPort(b []byte) int { return firstPort(magnusValue(b, "Port")) }

// MagnusAddress reads the `Address A` directive of magnus.conf, "" when not set.
func MagnusAddress(b []byte) string { return magnusValue(b, "Address") }

func magnusValue(b []byte, key string) string {
	val := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && strings.EqualFold(f[0], key) {
			val = f[1]
		}
	}
	return val
}

// readOptional reads a file; a missing file gives nil and no error.
func readOptional(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	return b, nil
}
