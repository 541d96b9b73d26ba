package mailcheck

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAttempts(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{
		{"ZZf0r4i0Wdy51.01", 0},
		{"ZYabc.00", 1},
		{"ZAabc.00", 25},
		{"Z9abc.00", 26},
		{"Z0abc.00", 35},
		{"YZabc.00", 36},
		{"YYabc.00", 37},
		{"zyabc.00", 1},
		{"00abc.00", 35*36 + 35},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Attempts(tt.name)
			if err != nil || got != tt.want {
				t.Errorf("Attempts(%q) = %d, %v; want %d", tt.name, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "Z", "Z_abc.00", "$Zabc"} {
		if got, err := Attempts(bad); err == nil {
			t.Errorf("Attempts(%q) = %d, want an error", bad, got)
		}
	}
}

// qfile is a queue file declared as data: path under the root and age.
type qfile struct {
	path string
	age  time.Duration
}

func makeQueue(t *testing.T, root string, now time.Time, files []qfile) {
	t.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("msg"), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := now.Add(-f.age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScanQueue(t *testing.T) {
	root := t.TempDir()
	now := at(2010, 2, 16, 12, 0, 0, 0)
	makeQueue(t, root, now, []qfile{
		{"tcp_local/ZZaaa.00", time.Minute},
		{"tcp_local/002/ZYbbb.01", 2 * time.Hour},
		{"tcp_local/017/YZccc.00", 30 * time.Minute},
		{"tcp_local/ZZheld.HELD", 5 * time.Hour},
		{"tcp_local/$tmpfile", 0},
		{"ims-ms/ZZddd.00", 10 * time.Second},
		{"$top-level-temp", 0},
		{"README", 0},
		{"tcp_local/notes.txt", 0},
	})
	if err := os.MkdirAll(filepath.Join(root, "conversion"), 0o755); err != nil {
		t.Fatal(err)
	}
	snap, msgs, err := (&Probe{Now: func() time.Time { return now }}).ScanQueue(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ChannelQueue{
		"tcp_local":  {Messages: 3, Held: 1, MaxAttempts: 36, Oldest: 5 * time.Hour, OldestPath: "tcp_local/ZZheld.HELD"},
		"ims-ms":     {Messages: 1, Oldest: 10 * time.Second, OldestPath: "ims-ms/ZZddd.00"},
		"conversion": {},
	}
	for ch, w := range want {
		if snap.Channels[ch] != w {
			t.Errorf("%s = %+v, want %+v", ch, snap.Channels[ch], w)
		}
	}
	if len(snap.Channels) != 3 || snap.Messages != 4 || snap.Held != 1 || snap.Temp != 2 || snap.Ignored != 2 {
		t.Errorf("snapshot %+v; want 3 channels, 4 messages, 1 held, 2 temp, 2 ignored", snap)
	}
	if snap.Oldest == nil || snap.Oldest.Path != "tcp_local/ZZheld.HELD" {
		t.Errorf("oldest %+v, want the held file", snap.Oldest)
	}
	if len(msgs) != 5 || msgs[1].Path != "tcp_local/002/ZYbbb.01" || msgs[1].Attempts != 1 || msgs[1].ID != "bbb" || msgs[1].Age != 2*time.Hour ||
		msgs[4].ID != "held" || !msgs[4].Held {
		t.Errorf("messages %+v", msgs)
	}
}

func TestStuckLimits(t *testing.T) {
	l := QueueLimits{MaxAttempts: 3, MaxAge: time.Hour}
	tests := []struct {
		name string
		m    QueueMessage
		want bool
	}{
		{"fresh message is not stuck", QueueMessage{Attempts: 1, Age: time.Minute}, false},
		{"attempts at the limit are not stuck", QueueMessage{Attempts: 3}, false},
		{"attempts over the limit are stuck", QueueMessage{Attempts: 4}, true},
		{"age over the limit is stuck", QueueMessage{Age: 61 * time.Minute}, true},
		{"held is reported apart, not as stuck", QueueMessage{Held: true, Attempts: 9}, false},
		{"zero limits never flag", QueueMessage{Attempts: 99, Age: 99 * time.Hour}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := l
			if tt.name == "zero limits never flag" {
				lim = QueueLimits{}
			}
			if got := lim.Stuck(tt.m); got != tt.want {
				t.Errorf("Stuck = %v, want %v", got, tt.want)
			}
		})
	}
}
