package mailcheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"os"
	"strings"
	"time"

	"mswizard/wizard"
)

// MailProbe proves that mail flows: it sends one message by SMTP to the
// dispatcher (RFC 5321 through net/smtp) and finds it again in the MTA's
// transaction log as enqueued (an E record) and dequeued (a D record, to the
// store or its next channel), within Timeout. The log's records name the
// message by its Message-ID when option.dat sets LOG_MESSAGE_ID=1 (Messaging
// Server Reference, "MTA transaction log entry format", FORMATS.md §3.2); the
// envelope sender, unique to each probe, names it in every record, so the
// probe finds its records either way.
type MailProbe struct {
	Addr      string        // the dispatcher's SMTP address, host:port
	Helo      string        // the name to greet with
	Recipient string        // who the probe is sent to (e.g. postmaster@domain)
	Log       string        // mail.log_current
	Timeout   time.Duration // how long to wait for both records
	Interval  time.Duration // how often to read the log again
	Now       func() time.Time
}

// ProbeResult is what a probe saw.
type ProbeResult struct {
	MessageID string    `json:"message_id"`
	Sender    string    `json:"sender"`
	Recipient string    `json:"recipient"`
	Addr      string    `json:"addr"`
	Sent      time.Time `json:"sent"`
	// Records are the log lines that name the probe, in order.
	Records   []Record      `json:"records"`
	Enqueued  bool          `json:"enqueued"`
	Delivered bool          `json:"delivered"`
	Took      time.Duration `json:"took_ns"`
	Pass      bool          `json:"pass"`
	Reason    string        `json:"reason,omitempty"`
}

// Summary says in one line what the probe found.
func (r ProbeResult) Summary() string {
	if r.Pass {
		return fmt.Sprintf("probe %s to %s: enqueued and delivered in %s (%d log record(s))", r.MessageID, r.Recipient, r.Took.Round(time.Millisecond), len(r.Records))
	}
	return fmt.Sprintf("probe %s to %s: %s", r.MessageID, r.Recipient, r.Reason)
}

// Lines lists the probe's log records as evidence, file:line and the line.
func (r ProbeResult) Lines() []string {
	var out []string
	for _, rec := range r.Records {
		out = append(out, rec.Where()+": "+rec.Raw)
	}
	return out
}

func (p *MailProbe) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Run sends the probe and waits for its records. A message the dispatcher
// refuses, or records that do not come within the timeout, are a failed
// probe (Pass false, with the reason), not an error; an error is a probe that
// could not be made at all.
func (p *MailProbe) Run(ctx context.Context) (ProbeResult, error) {
	token := make([]byte, 8)
	if _, err := rand.Read(token); err != nil {
		return ProbeResult{}, err
	}
	tok := hex.EncodeToString(token)
	helo := p.Helo
	if helo == "" {
		helo = "localhost"
	}
	res := ProbeResult{
		MessageID: "<mswizard-probe." + tok + "@" + helo + ">",
		Sender:    "mswizard-probe+" + tok + "@" + helo,
		Recipient: p.Recipient,
		Addr:      p.Addr,
	}
	// Only what the log gains from now on can be the probe's.
	offset, lines := logEnd(p.Log)
	res.Sent = p.now()
	if err := p.send(ctx, helo, res); err != nil {
		res.Reason = "the dispatcher did not take it: " + err.Error()
		return res, nil
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	interval := p.Interval
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	for {
		recs, err := p.find(offset, lines, res)
		if err != nil {
			return res, err
		}
		res.Records = recs
		res.Enqueued, res.Delivered = false, false
		for _, r := range recs {
			switch r.Action {
			case 'E':
				res.Enqueued = true
			case 'D':
				res.Delivered = true
			}
		}
		if res.Enqueued && res.Delivered {
			res.Took = p.now().Sub(res.Sent)
			res.Pass = true
			return res, nil
		}
		if time.Now().After(deadline) {
			break
		}
		if err := wizard.Sleep(ctx, interval); err != nil {
			return res, err
		}
	}
	res.Took = p.now().Sub(res.Sent)
	switch {
	case !res.Enqueued:
		res.Reason = fmt.Sprintf("accepted by the dispatcher, but no E (enqueue) record in %s within %s", p.Log, timeout)
	default:
		res.Reason = fmt.Sprintf("enqueued, but no D (delivered) record in %s within %s", p.Log, timeout)
	}
	for _, r := range res.Records {
		if Classify(r.Action) != ClassNormal {
			res.Reason += fmt.Sprintf("; the log says %c: %s", rune(r.Action), r.Diag)
			break
		}
	}
	return res, nil
}

func (p *MailProbe) send(ctx context.Context, helo string, res ProbeResult) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return err
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	host, _, _ := net.SplitHostPort(p.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(helo); err != nil {
		return err
	}
	if err := c.Mail(res.Sender); err != nil {
		return err
	}
	if err := c.Rcpt(res.Recipient); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Message-ID: %s\r\nDate: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: mswizard mail-flow probe\r\n\r\nThis message proves that mail flows through this server; it may be deleted.\r\n",
		res.MessageID, res.Sent.Format(time.RFC1123Z), res.Sender, res.Recipient)
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// find reads the log from offset for records naming the probe by its
// Message-ID or its envelope sender.
func (p *MailProbe) find(offset int64, lines int, res ProbeResult) ([]Record, error) {
	f, err := os.Open(p.Log)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mail probe: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() < offset {
		offset, lines = 0, 0 // rotated meanwhile: the new file is all new
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	var out []Record
	rd := NewReader(bytes.NewReader(b), p.Log, time.Local)
	for rd.Next() {
		r := rd.Record()
		if strings.Contains(r.Raw, res.MessageID) || strings.EqualFold(r.From, res.Sender) {
			r.Line += lines
			out = append(out, r)
		}
	}
	return out, nil
}

// logEnd returns the log's size and its number of lines: where the probe's
// records can begin, and the line numbers they continue from.
func logEnd(path string) (int64, int) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	var size int64
	lines := 0
	buf := make([]byte, 256<<10)
	for {
		n, err := f.Read(buf)
		size += int64(n)
		lines += bytes.Count(buf[:n], []byte{'\n'})
		if err != nil {
			return size, lines
		}
	}
}
