package lines

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestWriterHandsOverWholeLines(t *testing.T) {
	cases := []struct {
		name   string
		chunks []string
		want   []string
	}{
		{"a line cut mid-way waits for its rest", []string{"Stopping wat", "cher ... 31070 stopped\nStopping ens", " ... done\n"}, []string{"Stopping watcher ... 31070 stopped", "Stopping ens ... done"}},
		{"the final partial line is flushed at the end", []string{"one\ntw", "o"}, []string{"one", "two"}},
		{"CRLF endings lose their CR", []string{"a\r\nb\r", "\n"}, []string{"a", "b"}},
		{"empty lines are lines", []string{"a\n\nb\n"}, []string{"a", "", "b"}},
		{"one chunk, many lines", []string{"1\n2\n3\n"}, []string{"1", "2", "3"}},
		{"nothing written, nothing handed over", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			w := New(func(s string) { got = append(got, s) })
			for _, ch := range c.chunks {
				if n, err := w.Write([]byte(ch)); n != len(ch) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			w.Flush()
			w.Flush() // a second flush hands over nothing more
			if !slices.Equal(got, c.want) {
				t.Fatalf("lines = %q, want %q", got, c.want)
			}
		})
	}
}

func TestAnOverlongLineIsHandedOverInPieces(t *testing.T) {
	var got []string
	w := New(func(s string) { got = append(got, s) })
	w.Write([]byte(strings.Repeat("x", MaxLine+10)))
	w.Flush()
	if len(got) != 2 || len(got[0]) != MaxLine || len(got[1]) != 10 {
		t.Fatalf("pieces of %d bytes", len(got))
	}
}

func TestTeeCopiesEveryByte(t *testing.T) {
	var log bytes.Buffer
	var got []string
	w := Tee(&log, func(s string) { got = append(got, s) })
	w.Write([]byte("a\nb"))
	w.Flush()
	if log.String() != "a\nb" || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("log %q, lines %q", log.String(), got)
	}
}
