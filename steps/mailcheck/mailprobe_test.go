package mailcheck

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeMTA is an SMTP listener that logs what it accepts as the MTA does
// (FORMATS.md §3.2): an E record with the Message-ID, then, if it delivers,
// a D record; or, if it cannot, a Q record.
func fakeMTA(t *testing.T, log string, deliver bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	write := func(code, from, to, extra string) {
		f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		defer f.Close()
		fmt.Fprintf(f, "%s tcp_local    ims-ms       %s 1 %s rfc822;%s %s %s\n", time.Now().Format("02-Jan-2006 15:04:05.00"), code, from, to, strings.Split(to, "@")[0]+"@ims-ms-daemon", extra)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				fmt.Fprint(c, "220 fake ESMTP\r\n")
				var from, to, id string
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					l = strings.TrimRight(l, "\r\n")
					u := strings.ToUpper(l)
					switch {
					case strings.HasPrefix(u, "EHLO"), strings.HasPrefix(u, "HELO"):
						fmt.Fprint(c, "250 fake\r\n")
					case strings.HasPrefix(u, "MAIL FROM:"):
						from = strings.Trim(l[10:], "<> ")
						fmt.Fprint(c, "250 ok\r\n")
					case strings.HasPrefix(u, "RCPT TO:"):
						to = strings.Trim(l[8:], "<> ")
						fmt.Fprint(c, "250 ok\r\n")
					case u == "DATA":
						fmt.Fprint(c, "354 go\r\n")
						for {
							d, _ := r.ReadString('\n')
							d = strings.TrimRight(d, "\r\n")
							if d == "." {
								break
							}
							if strings.HasPrefix(strings.ToLower(d), "message-id:") {
								id = strings.TrimSpace(d[11:])
							}
						}
						write("EE", from, to, id)
						if deliver {
							write("D", from, to, id)
						} else {
							write("Q", from, to, id+" Mailbox is busy")
						}
						fmt.Fprint(c, "250 ok\r\n")
					case u == "QUIT":
						fmt.Fprint(c, "221 bye\r\n")
						return
					default:
						fmt.Fprint(c, "250 ok\r\n")
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestMailProbe(t *testing.T) {
	for _, c := range []struct {
		name    string
		deliver bool
		pass    bool
		reason  string
	}{
		{"a delivered probe passes with its E and D records", true, true, ""},
		{"an undelivered probe fails naming what the log says", false, false, "no D (delivered) record"},
	} {
		t.Run(c.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "mail.log_current")
			// Earlier records are not the probe's, whatever they say.
			os.WriteFile(log, []byte("16-Feb-2010 10:01:02.11 tcp_local    ims-ms       EE 3 ann@example.org rfc822;bob@example.com bob@ims-ms-daemon\n"), 0o644)
			p := &MailProbe{Addr: fakeMTA(t, log, c.deliver), Helo: "mswizard.test", Recipient: "postmaster@example.com", Log: log, Timeout: 2 * time.Second, Interval: 50 * time.Millisecond}
			res, err := p.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.Pass != c.pass || !strings.Contains(res.Reason, c.reason) {
				t.Fatalf("pass %v reason %q, want %v %q", res.Pass, res.Reason, c.pass, c.reason)
			}
			if len(res.Records) != 2 || !strings.Contains(res.Records[0].Raw, res.MessageID) {
				t.Fatalf("records %+v, want the probe's two, named by its Message-ID", res.Records)
			}
			if res.Records[0].Line != 2 {
				t.Errorf("the first probe record is line %d, want 2 (after the one already there)", res.Records[0].Line)
			}
			if !c.pass && !strings.Contains(res.Reason, "Mailbox is busy") {
				t.Errorf("the failure does not say what the log says: %q", res.Reason)
			}
		})
	}
	t.Run("a dispatcher that is not there fails the probe", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		res, err := (&MailProbe{Addr: addr, Recipient: "postmaster", Log: filepath.Join(t.TempDir(), "x"), Timeout: time.Second}).Run(context.Background())
		if err != nil || res.Pass || !strings.Contains(res.Reason, "did not take it") {
			t.Fatalf("res %+v err %v", res, err)
		}
	})
}
