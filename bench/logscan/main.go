// Command logscan is the bench driver for steps/mailcheck's log scanner.
//
//	logscan gen SIZE_BYTES OUT   write a mail.log_current of about SIZE_BYTES
//	logscan scan FILE...         scan the files (no time filter) and print
//	                             "matches N" (hard + trouble records)
//
// The generated records follow FORMATS.md §3.2 (LOG_FORMAT=1): padded
// channel columns, blank destinations on dequeues, bounces without From,
// connection records, and about 4% hard-error or trouble records, so that
// `grep -c -E` with the pattern printed by `logscan pattern` counts the same
// lines the scanner rates hard or trouble.
package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"mswizard/steps/mailcheck"
)

// pattern matches exactly the generated records whose entry code is hard
// (R, K, J, X, Y) or trouble (Q, W).
const pattern = ` [RKJQW][A-Z]* [0-9]+ | [+-] +[XY][A-Z]* `

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "logscan:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: logscan gen SIZE OUT | scan FILE... | pattern")
	}
	switch args[0] {
	case "gen":
		if len(args) != 3 {
			return fmt.Errorf("usage: logscan gen SIZE OUT")
		}
		size, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return fmt.Errorf("size: %w", err)
		}
		return gen(size, args[2])
	case "scan":
		sum, err := (&mailcheck.Probe{Location: time.UTC, MaxEvidence: 100}).Scan(context.Background(), args[1:], time.Time{})
		if err != nil {
			return err
		}
		fmt.Printf("matches %d records %d parse_errors %d\n", sum.Totals.Hard+sum.Totals.Trouble, sum.Records, sum.ParseErrors)
		return nil
	case "pattern":
		fmt.Println(pattern)
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func gen(size int64, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(7, 11))
	chans := []string{"tcp_local   ", "tcp_intranet", "ims-ms      ", "l           ", "conversion  "}
	users := []string{"ann", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	domains := []string{"example.com", "example.org", "example.net", "mail.example.com"}
	addr := func() string { return users[rng.IntN(len(users))] + "@" + domains[rng.IntN(len(domains))] }
	t := time.Date(2010, 2, 16, 0, 0, 0, 0, time.UTC)
	var written int64
	var line []byte
	for written < size {
		t = t.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
		line = line[:0]
		line = t.AppendFormat(line, "02-Jan-2006 15:04:05.00")
		line = append(line, ' ')
		src := chans[rng.IntN(len(chans))]
		to := addr()
		switch k := rng.IntN(100); {
		case k < 40:
			line = fmt.Appendf(line, "%s %s E %d %s rfc822;%s %s", src, chans[rng.IntN(len(chans))], 1+rng.IntN(40), addr(), to, to)
		case k < 80:
			line = fmt.Appendf(line, "%s              DS %d %s rfc822;%s %s dns;mx.example.net (TCP|192.0.2.1|40000|198.51.100.7|25) smtp;250 2.0.0 ok", src, 1+rng.IntN(40), addr(), to, to)
		case k < 88:
			line = fmt.Appendf(line, "%s +            O TCP|192.0.2.1|25|198.51.100.%d|%d SMTP/mail.example.com/client.example.net", src, rng.IntN(255), 1024+rng.IntN(60000))
		case k < 94:
			line = fmt.Appendf(line, "%s +            C TCP|192.0.2.1|25|198.51.100.%d|%d SMTP/mail.example.com/client.example.net", src, rng.IntN(255), 1024+rng.IntN(60000))
		case k < 96:
			line = fmt.Appendf(line, "%s process      E %d  rfc822;%s %s", src, 1+rng.IntN(5), to, to)
		case k < 97:
			line = fmt.Appendf(line, "%s              R %d %s rfc822;%s %s smtp;550 5.1.1 unknown user", src, 1+rng.IntN(40), addr(), to, to)
		case k < 98:
			line = fmt.Appendf(line, "%s              Q 0 %s rfc822;%s %s Too many failures to this host during this run", src, addr(), to, to)
		case k < 99:
			line = fmt.Appendf(line, "%s -            Y TCP|192.0.2.1|0|198.51.100.7|25 Connection refused", src)
		default:
			line = fmt.Appendf(line, "%s J %d %s rfc822;%s %s 550 5.7.1 relaying not allowed", src, 1+rng.IntN(40), addr(), to, to)
		}
		line = append(line, '\n')
		n, err := w.Write(line)
		if err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		written += int64(n)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	return f.Close()
}
