package mailcheck

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mswizard/fixtures/smtpd"
)

// fakeMTA is an SMTP listener (fixtures/smtpd) that logs what it accepts as
// the MTA does (FORMATS.md §3.2): an E record with the Message-ID, then, if
// it delivers, a D record; or, if it cannot, a Q record.
func fakeMTA(t *testing.T, log string, deliver bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	write := func(code, from, to, extra string) error {
		f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintf(f, "%s tcp_local    ims-ms       %s 1 %s rfc822;%s %s %s\n", time.Now().Format("02-Jan-2006 15:04:05.00"), code, from, to, strings.Split(to, "@")[0]+"@ims-ms-daemon", extra)
		return err
	}
	go smtpd.Serve(ln, "fake ESMTP", "fake", func(m smtpd.Message) error {
		id := m.Header("Message-ID")
		if err := write("EE", m.From, m.To[0], id); err != nil {
			return err
		}
		if deliver {
			return write("D", m.From, m.To[0], id)
		}
		return write("Q", m.From, m.To[0], id+" Mailbox is busy")
	})
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
