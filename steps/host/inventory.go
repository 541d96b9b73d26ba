package host

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Admin is the unit name of the Administration Server.
const Admin = "admin"

// Messaging lists the services start-msg starts, in the documented order
// (host-facts: F-SVC-001): the store must report ready before imap. The
// watcher is a 6.x service: a host without one (every 5.x host) leaves it out
// (host-facts: F-SVC-004).
func Messaging(watcher bool) []string {
	s := []string{"ens", "store", "imap", "pop", "http", "sched", "dispatcher", "job_controller"}
	if watcher {
		return append([]string{"watcher"}, s...)
	}
	return s
}

// programs are the documented program names of each service's processes
// (host-facts: F-PROC-003): the daemons `ps -ef | grep SUNWmsgsr` shows after
// start-msg (enpd, stored, popd, imapd, mshttpd, dispatcher, job_controller,
// tcp_smtp_server, imsched, watcher), the MTA processes `imsimta process`
// lists (dispatcher, job_controller, tcp_smtp_server: the SMTP servers the
// dispatcher creates belong to it, and so does the LMTP server it runs,
// tcp_lmtp_server, F-PROC-001), and the Netscape/iPlanet server daemons
// of the Administration Server and the web server instances (ns-httpd under
// its watchdog uxwdog; webservd in 6.x web servers).
var programs = map[string][]string{
	"watcher":        {"watcher"},
	"ens":            {"enpd"},
	"store":          {"stored"},
	"imap":           {"imapd"},
	"pop":            {"popd"},
	"http":           {"mshttpd"},
	"sched":          {"imsched"},
	"dispatcher":     {"dispatcher", "tcp_smtp_server", "tcp_lmtp_server"},
	"job_controller": {"job_controller"},
	Admin:            {"ns-httpd", "uxwdog"},
}

// Programs returns the documented program names of a unit.
func Programs(unit string) []string {
	if IsWeb(unit) {
		return []string{"ns-httpd", "uxwdog", "webservd", "webservd-wdog"}
	}
	return programs[unit]
}

// IsWeb says whether a unit is a web server instance (https-*).
func IsWeb(unit string) bool { return strings.HasPrefix(unit, "https-") }

// Service is one unit as the host's configuration describes it.
type Service struct {
	Name string `json:"name"`
	// Port is the TCP port it listens on; 0: none to check (the store and the
	// scheduler open no documented port, host-facts: F-PORT-002).
	Port int `json:"port,omitempty"`
	// Addr is the configured listen address; "" means all interfaces.
	Addr string `json:"addr,omitempty"`
}

// Endpoint names where the service listens, "ADDR:PORT" or "*:PORT".
func (s Service) Endpoint() string {
	a := s.Addr
	if a == "" {
		a = "*"
	}
	return net.JoinHostPort(a, strconv.Itoa(s.Port))
}

// Documented default ports (host-facts: F-PORT-001).
var defaultPorts = map[string]int{
	"imap":           143,
	"pop":            110,
	"http":           80,
	"dispatcher":     25,
	"job_controller": 27442,
}

// Services reads the inventory of an instance from its own files: ports and
// listen addresses from local.conf/msg.conf (service.X.port,
// service.listenaddr, local.watcher.port, local.ens.port), dispatcher.cnf
// ([SERVICE=SMTP] PORT, INTERFACE_ADDRESS), job_controller.cnf (TCP_PORT,
// INTERFACE_ADDRESS), adm.conf (port, ServerIpAddress) and each web
// instance's magnus.conf (Port, Address). Missing files are not an error: the
// documented defaults apply where there are some.
func Services(l Layout) (map[string]Service, error) {
	lc, err := ReadConfig(l)
	if err != nil {
		return nil, err
	}
	out := map[string]Service{}
	for _, n := range Messaging(true) {
		out[n] = Service{Name: n, Port: defaultPorts[n]}
	}
	// host-facts: F-ADDR-001: service.listenaddr is the address the IMAP, POP
	// and HTTP servers bind.
	listen, _ := lc.Value("service.listenaddr")
	for _, s := range []string{"imap", "pop", "http"} {
		sv := out[s]
		if n := lc.Int("service." + s + ".port"); n > 0 {
			sv.Port = n
		}
		// Enabled only on its SSL port, the service answers there.
		if !lc.Bool("service."+s+".enable", true) && lc.Bool("service."+s+".enablesslport", false) {
			if n := lc.Int("service." + s + ".sslport"); n > 0 {
				sv.Port = n
			}
		}
		sv.Addr = listen
		out[s] = sv
	}
	for _, s := range []string{"watcher", "ens"} {
		if n := lc.Int("local." + s + ".port"); n > 0 {
			sv := out[s]
			sv.Port, sv.Addr = n, listen
			out[s] = sv
		}
	}
	if b, err := readOptional(l.DispatcherCnf()); err != nil {
		return nil, err
	} else if b != nil {
		sv := out["dispatcher"]
		if n := DispatcherPort(b); n > 0 {
			sv.Port = n
		}
		sv.Addr = DispatcherAddress(b)
		out["dispatcher"] = sv
	}
	if b, err := readOptional(l.JobControllerCnf()); err != nil {
		return nil, err
	} else if b != nil {
		sv := out["job_controller"]
		if n := JobControllerPort(b); n > 0 {
			sv.Port = n
		}
		sv.Addr = JobControllerAddress(b)
		out["job_controller"] = sv
	}
	if b, err := readOptional(l.AdmConf()); err != nil {
		return nil, err
	} else if b != nil {
		out[Admin] = Service{Name: Admin, Port: AdmPort(b), Addr: AdmAddress(b)}
	}
	for _, inst := range WebInstances(l) {
		b, err := readOptional(l.MagnusConf(inst))
		if err != nil {
			return nil, err
		}
		out[inst] = Service{Name: inst, Port: MagnusPort(b), Addr: MagnusAddress(b)}
	}
	return out, nil
}

// HasWatcher says whether the instance runs a watcher: its configuration
// names one (local.watcher.enable, local.watcher.port or local.autorestart,
// 6.x parameters) or a watcher process of the instance lives. A 5.x host has
// neither (host-facts: F-SVC-004).
func HasWatcher(conf LocalConf, l Layout, procs []Proc) bool {
	for _, k := range []string{"local.watcher.enable", "local.watcher.port", "local.autorestart"} {
		if _, ok := conf.Value(k); ok {
			return true
		}
	}
	for _, p := range procs {
		if Owns(l, "watcher", p) != No {
			return true
		}
	}
	return false
}

// WebInstances lists the web server instances present under the server root:
// the layout's https-admserv and https-HOST first, then any other https-*
// directory.
func WebInstances(l Layout) []string {
	var out []string
	for _, inst := range l.WebInstances() {
		if isDir(l.WebDir(inst)) {
			out = append(out, inst)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(l.Root, "https-*"))
	for _, m := range matches {
		inst := filepath.Base(m)
		if !slices.Contains(out, inst) && isDir(m) {
			out = append(out, inst)
		}
	}
	return out
}

// Owner is the answer to "is this process that unit's": No, Yes, or Maybe
// when the process table does not say enough (a relative program path, an
// iPlanet server daemon whose arguments name no instance). Maybe counts as
// running for a stop's proof: unknown is never down.
type Owner int

const (
	No Owner = iota
	Maybe
	Yes
)

// Owns says whether p is a process of unit in instance l (host-facts:
// F-PROC-003): its program (the executable, or argv[0] as ps shows it) lies
// under the server root and its base name is one of the unit's documented
// program names. Server roots are per instance (seed 004), so a process of
// another server root is another instance's. The Administration Server and
// the web servers run the same ns-httpd: one of the process's arguments must
// name the unit's own directory (ns-httpd -d SERVER-ROOT/https-HOST/config).
func Owns(l Layout, unit string, p Proc) Owner {
	names := Programs(unit)
	if len(names) == 0 {
		return No
	}
	prog, placed := program(l, p)
	if prog == "" {
		return No
	}
	if !slices.Contains(names, filepath.Base(prog)) {
		// A name ps cut short that a documented name begins with may be the
		// service: unknown, never "not running".
		if p.Truncated && len(p.Args) == 1 && placed != elsewhere {
			for _, n := range names {
				if strings.HasPrefix(n, filepath.Base(prog)) {
					return Maybe
				}
			}
		}
		return No
	}
	if placed == elsewhere {
		return No
	}
	ans := Yes
	if placed == unplaced {
		ans = Maybe
	}
	if unit == Admin || IsWeb(unit) {
		dir := l.AdminDir()
		if IsWeb(unit) {
			dir = l.WebDir(unit)
		}
		named, other := false, false
		for _, a := range p.Args[1:] {
			switch {
			case under(a, dir):
				named = true
			case under(a, l.AdminDir()) || isWebArg(l, a):
				other = true
			}
		}
		switch {
		case named:
		case other:
			return No
		default:
			return Maybe
		}
	}
	return ans
}

type placement int

const (
	unplaced  placement = iota // a relative path: where it lies is unknown
	inside                     // under the server root
	elsewhere                  // an absolute path outside the server root
)

// program finds the process's program path: argv[0] or the executable,
// whichever lies under the server root; else an absolute one outside it.
func program(l Layout, p Proc) (string, placement) {
	var cands []string
	if len(p.Args) > 0 {
		cands = append(cands, p.Args[0])
	}
	if p.Exe != "" {
		cands = append(cands, p.Exe)
	}
	for _, c := range cands {
		if under(c, l.Root) {
			return c, inside
		}
	}
	for _, c := range cands {
		if !filepath.IsAbs(c) {
			return c, unplaced
		}
	}
	if len(cands) > 0 {
		return cands[0], elsewhere
	}
	return "", elsewhere
}

func isWebArg(l Layout, a string) bool {
	rel, err := filepath.Rel(l.Root, a)
	return err == nil && strings.HasPrefix(rel, "https-")
}

// under says whether path p lies in (or is) dir.
func under(p, dir string) bool {
	if !filepath.IsAbs(p) || dir == "" {
		return false
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(p))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// Listening says whether a socket serves s: one listening on its port, on its
// configured address or on all interfaces; when the service binds all
// interfaces (Addr ""), any address on its port. An address that does not
// parse (a host name) is resolved; when it does not resolve, any address on
// the port counts (unknown is never down). Under HA the servers bind the
// logical host's address, not the node's, so the address always comes from
// the configuration, never an assumed 127.0.0.1 (host-facts: F-HA-001,
// F-ADDR-001, F-ADDR-002).
func Listening(s Service, ls []Listener) []Listener {
	if s.Port <= 0 {
		return nil
	}
	want, anyAddr := resolve(s.Addr)
	var out []Listener
	for _, l := range ls {
		if l.Port != s.Port {
			continue
		}
		if anyAddr || l.Addr.IsUnspecified() || slices.Contains(want, l.Addr) {
			out = append(out, l)
		}
	}
	return out
}

// resolve turns a configured address into IPs; all is true for "", "*",
// INADDR_ANY and names that do not resolve.
func resolve(addr string) (ips []netip.Addr, all bool) {
	addr = strings.TrimSpace(addr)
	if addr == "" || addr == "*" {
		return nil, true
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		if a.IsUnspecified() {
			return nil, true
		}
		return []netip.Addr{a.Unmap()}, false
	}
	as, err := net.LookupHost(addr)
	if err != nil || len(as) == 0 {
		return nil, true
	}
	for _, s := range as {
		if a, err := netip.ParseAddr(s); err == nil {
			ips = append(ips, a.Unmap())
		}
	}
	return ips, len(ips) == 0
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
