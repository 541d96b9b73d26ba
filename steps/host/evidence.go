package host

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Proc is a live process as the process table shows it.
type Proc struct {
	Pid  int      `json:"pid"`
	Args []string `json:"args"`          // argv as the table shows it (/proc/PID/cmdline, `ps -o args`)
	Exe  string   `json:"exe,omitempty"` // the executable's path where the system tells it (/proc/PID/exe)
	// Truncated: ps cut the arguments (Solaris /usr/bin/ps shows at most 80
	// characters of args), so the program's name may be cut too.
	Truncated bool `json:"truncated,omitempty"`
}

// String names the process as ps would, and its executable where the system
// tells it and it differs: "pid 123 (/srv/bin/msg/imap/bin/imapd -d 5; exe /opt/x)".
func (p Proc) String() string {
	s := strings.Join(p.Args, " ")
	if p.Exe != "" && (len(p.Args) == 0 || p.Exe != p.Args[0]) {
		if s != "" {
			s += "; "
		}
		s += "exe " + p.Exe
	}
	return fmt.Sprintf("pid %d (%s)", p.Pid, s)
}

// Listener is a listening TCP socket.
type Listener struct {
	Addr netip.Addr `json:"addr"` // the unspecified address for "all interfaces"
	Port int        `json:"port"`
}

func (l Listener) String() string { return netip.AddrPortFrom(l.Addr, uint16(l.Port)).String() }

// Evidence reads what runs on a host: its process table and its listening
// sockets (host-facts: F-PROC-001, F-PROC-002). Source names where each came
// from, for the receipt. Either func may fail; a caller treats a failure as
// "unknown", never as "nothing runs".
type Evidence struct {
	Procs     func(ctx context.Context) ([]Proc, error)
	Listeners func(ctx context.Context) ([]Listener, error)
	Source    string // e.g. "/proc, /proc/net/tcp{,6}" or "ps -e -o pid,args, netstat -an"
}

// GroupedProc is a process with its process group: the installer guard finds
// every process of an installer's group (steps/installerguard.go).
type GroupedProc struct {
	Proc
	Pgid int `json:"pgid"`
}

// ParsePSGroups reads the output of `ps -e -o pid,pgid,args`: a header line,
// then the pid, the process group and the arguments of one process a line.
func ParsePSGroups(text string) ([]GroupedProc, error) {
	var out []GroupedProc
	err := psRows(text, []string{"pid", "process group"}, func(n []int, args []string, _ string) {
		out = append(out, GroupedProc{Proc: Proc{Pid: n[0], Args: args}, Pgid: n[1]})
	})
	return out, err
}

// psArgsWidth is how much of the arguments Solaris ps shows (PRARGSZ, 80).
const psArgsWidth = 80

// ParsePS reads the output of `ps -e -o pid,args` (a header line, then one
// process a line: the pid, blanks, the arguments). argv is split at blanks, as
// ps shows it.
func ParsePS(text string) ([]Proc, error) {
	var out []Proc
	err := psRows(text, []string{"pid"}, func(n []int, args []string, row string) {
		f := strings.Fields(row)
		shown := strings.TrimSpace(strings.TrimSpace(row)[len(f[0]):])
		out = append(out, Proc{Pid: n[0], Args: args, Truncated: len(shown) >= psArgsWidth})
	})
	return out, err
}

// psRows reads ps output: a header line ("PID ... COMMAND"), then one row a
// process whose first len(cols) fields are numbers (cols names them for the
// error) and whose other fields are its arguments.
func psRows(text string, cols []string, each func(nums []int, args []string, row string)) error {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	first := true
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		header := first
		first = false
		nums := make([]int, len(cols))
		ok := len(f) >= len(cols)
		for i := 0; ok && i < len(cols); i++ {
			v, err := strconv.Atoi(f[i])
			if err != nil {
				if header && i == 0 {
					break // the header
				}
				return fmt.Errorf("ps: not a %s: %q", cols[i], sc.Text())
			}
			nums[i] = v
			if i == len(cols)-1 {
				each(nums, f[len(cols):], sc.Text())
			}
		}
		if !ok {
			return fmt.Errorf("ps: not a %s: %q", strings.Join(cols, " and a "), sc.Text())
		}
	}
	return sc.Err()
}

// ParseNetstat reads the listening TCP sockets from `netstat -an`, in the
// Solaris form ("127.0.0.7.25  *.*  0 0 49152 0 LISTEN", the port after the
// last dot) and the BSD/Linux form ("tcp 0 0 127.0.0.7:25 0.0.0.0:* LISTEN").
// "*" is all interfaces.
func ParseNetstat(text string) []Listener {
	var out []Listener
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[len(f)-1] != "LISTEN" {
			continue
		}
		for _, tok := range f {
			if l, ok := parseLocal(tok); ok {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// parseLocal reads "ADDR.PORT", "ADDR:PORT", "*.PORT", "[::]:PORT", "::.PORT".
func parseLocal(tok string) (Listener, bool) {
	i := strings.LastIndexAny(tok, ".:")
	if i <= 0 || i == len(tok)-1 {
		return Listener{}, false
	}
	port, err := strconv.Atoi(tok[i+1:])
	if err != nil || port <= 0 || port > 65535 {
		return Listener{}, false
	}
	host := strings.Trim(tok[:i], "[]")
	if host == "*" || host == "0.0.0.0" {
		return Listener{Addr: netip.IPv4Unspecified(), Port: port}, true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return Listener{}, false
	}
	return Listener{Addr: a, Port: port}, true
}

// ParseProcNetTCP reads /proc/net/tcp or /proc/net/tcp6 and returns the
// sockets in state LISTEN (0A). Addresses there are hexadecimal in host byte
// order, 32 bits at a time (little-endian on the machines Go's linux ports
// run on that matter here; amd64 and arm64).
func ParseProcNetTCP(text string) ([]Listener, error) {
	var out []Listener
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[0] == "sl" || f[3] != "0A" {
			continue
		}
		hexAddr, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			return nil, fmt.Errorf("proc net tcp: bad local address %q", f[1])
		}
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil {
			return nil, fmt.Errorf("proc net tcp: bad port %q", hexPort)
		}
		raw, err := hex.DecodeString(hexAddr)
		if err != nil || (len(raw) != 4 && len(raw) != 16) {
			return nil, fmt.Errorf("proc net tcp: bad address %q", hexAddr)
		}
		for i := 0; i+4 <= len(raw); i += 4 { // each 32-bit word is little-endian
			raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
		}
		a, _ := netip.AddrFromSlice(raw)
		out = append(out, Listener{Addr: a.Unmap(), Port: int(port)})
	}
	return out, sc.Err()
}
