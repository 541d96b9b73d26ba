package mailcheck

import (
	"errors"
	"testing"
	"time"
)

func at(y int, mo time.Month, d, h, mi, s, ms int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ms*int(time.Millisecond), time.UTC)
}

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Record
	}{
		{
			name: "enqueue with source and destination channel (FORMATS §3.4 #1)",
			line: "16-Feb-2010 10:01:02.11 tcp_local    ims-ms       EE 3 ann@example.org rfc822;bob@example.com bob@ims-ms-daemon",
			want: Record{Time: at(2010, 2, 16, 10, 1, 2, 110), Src: "tcp_local", Dst: "ims-ms", Action: 'E', Modifiers: "E", Size: 3,
				From: "ann@example.org", OrigTo: "rfc822;bob@example.com", To: "bob@ims-ms-daemon", Class: ClassNormal},
		},
		{
			name: "dequeue with blank destination column (FORMATS §3.4 #2)",
			line: "16-Feb-2010 10:01:02.54 ims-ms                    D 3 ann@example.org rfc822;bob@example.com bob@ims-ms-daemon",
			want: Record{Time: at(2010, 2, 16, 10, 1, 2, 540), Src: "ims-ms", Action: 'D', Size: 3,
				From: "ann@example.org", OrigTo: "rfc822;bob@example.com", To: "bob@ims-ms-daemon", Class: ClassNormal},
		},
		{
			name: "temporary failure keeps the diagnostic text (FORMATS §3.4 #3)",
			line: "16-Feb-2010 10:05:40.07 tcp_local                 Q 0 bob@example.com rfc822;ann@example.net ann@example.net Too many failures to this host during this run; skipping this host: Dead (unresponsive) host",
			want: Record{Time: at(2010, 2, 16, 10, 5, 40, 70), Src: "tcp_local", Action: 'Q', Size: 0,
				From: "bob@example.com", OrigTo: "rfc822;ann@example.net", To: "ann@example.net",
				Diag: "Too many failures to this host during this run; skipping this host: Dead (unresponsive) host", Class: ClassTrouble},
		},
		{
			name: "rejection keeps connection info and smtp status (FORMATS §3.4 #4)",
			line: "16-Feb-2010 10:07:12.90 tcp_local                 R 2 bob@example.com rfc822;nobody@example.net nobody@example.net dns;mx.example.net (TCP|192.0.2.1|40000|198.51.100.7|25) smtp;550 5.1.1 unknown user",
			want: Record{Time: at(2010, 2, 16, 10, 7, 12, 900), Src: "tcp_local", Action: 'R', Size: 2,
				From: "bob@example.com", OrigTo: "rfc822;nobody@example.net", To: "nobody@example.net",
				Diag: "dns;mx.example.net (TCP|192.0.2.1|40000|198.51.100.7|25) smtp;550 5.1.1 unknown user", Class: ClassHard},
		},
		{
			name: "bounce has no envelope From (FORMATS §3.4 #5)",
			line: "16-Feb-2010 10:07:13.02 tcp_local    process      E 2  rfc822;bob@example.com bob@example.com",
			want: Record{Time: at(2010, 2, 16, 10, 7, 13, 20), Src: "tcp_local", Dst: "process", Action: 'E', Size: 2,
				OrigTo: "rfc822;bob@example.com", To: "bob@example.com", Class: ClassNormal},
		},
		{
			name: "bounce without rfc822 prefix is found by the double space",
			line: "16-Feb-2010 10:07:13.02 tcp_local process E 2  bob@example.com bob@example.com",
			want: Record{Time: at(2010, 2, 16, 10, 7, 13, 20), Src: "tcp_local", Dst: "process", Action: 'E', Size: 2,
				OrigTo: "bob@example.com", To: "bob@example.com", Class: ClassNormal},
		},
		{
			name: "LOG_FORMAT=2 empty From <> reads as empty",
			line: "16-Feb-2010 10:07:13.02 tcp_local process E 2 <> rfc822;bob@example.com bob@example.com",
			want: Record{Time: at(2010, 2, 16, 10, 7, 13, 20), Src: "tcp_local", Dst: "process", Action: 'E', Size: 2,
				OrigTo: "rfc822;bob@example.com", To: "bob@example.com", Class: ClassNormal},
		},
		{
			name: "inbound connection record has + and no size (FORMATS §3.4 #6)",
			line: "16-Feb-2010 10:09:00.00 tcp_local    +            O TCP|192.0.2.1|25|198.51.100.9|51000 SMTP/mail.example.com/client.example.net",
			want: Record{Time: at(2010, 2, 16, 10, 9, 0, 0), Src: "tcp_local", Dst: "+", Action: 'O',
				Diag: "TCP|192.0.2.1|25|198.51.100.9|51000 SMTP/mail.example.com/client.example.net", Class: ClassNormal},
		},
		{
			name: "outbound connection failure is a hard error",
			line: "16-Feb-2010 10:09:01.00 tcp_local - Y TCP|192.0.2.1|0|198.51.100.7|25 mx.example.net Connection refused",
			want: Record{Time: at(2010, 2, 16, 10, 9, 1, 0), Src: "tcp_local", Dst: "-", Action: 'Y',
				Diag: "TCP|192.0.2.1|0|198.51.100.7|25 mx.example.net Connection refused", Class: ClassHard},
		},
		{
			name: "old upper-case month and no hundredths",
			line: "20-JAN-1998 09:15:33 l tcp_local E 1 fresnel@example.com rfc822;adam@example.com adam@example.com",
			want: Record{Time: at(1998, 1, 20, 9, 15, 33, 0), Src: "l", Dst: "tcp_local", Action: 'E', Size: 1,
				From: "fresnel@example.com", OrigTo: "rfc822;adam@example.com", To: "adam@example.com", Class: ClassNormal},
		},
		{
			name: "single-digit day and tabs as separators",
			line: "2-Jun-1999\t14:01:23.99\tl\ttcp_local\tE\t1\tfresnel@example.com\trfc822;adam@example.com\tadam@example.com",
			want: Record{Time: at(1999, 6, 2, 14, 1, 23, 990), Src: "l", Dst: "tcp_local", Action: 'E', Size: 1,
				From: "fresnel@example.com", OrigTo: "rfc822;adam@example.com", To: "adam@example.com", Class: ClassNormal},
		},
		{
			name: "LOG_NODE and LOG_PROCESS come before the channels",
			line: "16-Feb-2007 09:00:00.01 mailhost 2e2d.5.1 tcp_local ims-ms EEC 4 a@example.com rfc822;b@example.com b@ims-ms-daemon ZZ01abc.00",
			want: Record{Time: at(2007, 2, 16, 9, 0, 0, 10), Node: "mailhost", Process: "2e2d.5.1", Src: "tcp_local", Dst: "ims-ms",
				Action: 'E', Modifiers: "EC", Size: 4, From: "a@example.com", OrigTo: "rfc822;b@example.com", To: "b@ims-ms-daemon",
				Diag: "ZZ01abc.00", Class: ClassNormal},
		},
		{
			name: "LOG_PROCESS alone with a blank destination",
			line: "16-Feb-2007 09:00:00.01 2e2d.5.1 ims-ms DS 4 a@example.com rfc822;b@example.com b@ims-ms-daemon",
			want: Record{Time: at(2007, 2, 16, 9, 0, 0, 10), Process: "2e2d.5.1", Src: "ims-ms",
				Action: 'D', Modifiers: "S", Size: 4, From: "a@example.com", OrigTo: "rfc822;b@example.com", To: "b@ims-ms-daemon", Class: ClassNormal},
		},
		{
			name: "rejected enqueue J is a hard error",
			line: "16-Feb-2007 09:00:00.01 tcp_local J 0 spam@example.net rfc822;x@example.com x@example.com 550 5.7.1 relaying not allowed",
			want: Record{Time: at(2007, 2, 16, 9, 0, 0, 10), Src: "tcp_local", Action: 'J', From: "spam@example.net",
				OrigTo: "rfc822;x@example.com", To: "x@example.com", Diag: "550 5.7.1 relaying not allowed", Class: ClassHard},
		},
		{
			name: "carriage return at end of line is dropped",
			line: "16-Feb-2010 10:01:02.54 ims-ms D 3 a@example.org rfc822;b@example.com b@ims-ms-daemon\r",
			want: Record{Time: at(2010, 2, 16, 10, 1, 2, 540), Src: "ims-ms", Action: 'D', Size: 3,
				From: "a@example.org", OrigTo: "rfc822;b@example.com", To: "b@ims-ms-daemon", Class: ClassNormal},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRecord([]byte(tt.line), time.UTC)
			if err != nil {
				t.Fatalf("ParseRecord: %v", err)
			}
			tt.want.Raw = got.Raw // Raw is the line itself, checked below
			if got.Raw == "" || got.Raw[len(got.Raw)-1] == '\r' {
				t.Errorf("Raw = %q, want the line without CR/LF", got.Raw)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseRecordRejects(t *testing.T) {
	tests := []struct{ name, line string }{
		{"too few fields", "16-Feb-2010 10:01:02.54 ims-ms"},
		{"month name unknown", "16-Fob-2010 10:01:02.54 ims-ms D 3 a rfc822;b b"},
		{"day out of range", "32-Feb-2010 10:01:02.54 ims-ms D 3 a rfc822;b b"},
		{"hour out of range", "16-Feb-2010 24:01:02.54 ims-ms D 3 a rfc822;b b"},
		{"time without seconds", "16-Feb-2010 10:01 ims-ms D 3 a rfc822;b b"},
		{"no entry code", "16-Feb-2010 10:01:02.54 ims-ms delivered 3 a rfc822;b b"},
		{"code with no size", "16-Feb-2010 10:01:02.54 ims-ms D a rfc822;b b"},
		{"code in the first column after the time has no channel", "16-Feb-2010 10:01:02.54 D 3 a rfc822;b b"},
		{"store log line", "[16/Feb/2010:10:01:02 +0100] host imapd[123]: General Error: oops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := ParseRecord([]byte(tt.line), time.UTC); !errors.Is(err, errNotRecord) {
				t.Errorf("ParseRecord = %+v, %v; want errNotRecord", r, err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	want := map[Class]string{ClassHard: "RKJXY", ClassTrouble: "QW", ClassNormal: "EDZOC", ClassOther: "BIA"}
	for class, letters := range want {
		for _, c := range []byte(letters) {
			if got := Classify(Action(c)); got != class {
				t.Errorf("Classify(%c) = %s, want %s", c, got, class)
			}
		}
	}
}

func TestParseRecordUsesLocation(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	r, err := ParseRecord([]byte("16-Feb-2010 10:01:02.54 ims-ms D 3 a rfc822;b b"), loc)
	if err != nil {
		t.Fatal(err)
	}
	if want := at(2010, 2, 16, 9, 1, 2, 540); !r.Time.Equal(want) {
		t.Errorf("Time = %s, want %s (wall clock in the log's zone)", r.Time, want)
	}
}
