package ldif

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

func writeAll(t testing.TB, es []Entry) []byte {
	t.Helper()
	var b bytes.Buffer
	w := NewWriter(&b)
	for i := range es {
		if err := w.WriteEntry(&es[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// normalize maps nil and empty attribute lists alike for comparison.
func normalize(es []Entry) []Entry {
	for i := range es {
		if len(es[i].Attributes) == 0 {
			es[i].Attributes = nil
		}
	}
	return es
}

// checkRoundTrip asserts read(write(es)) == es and that writing the result
// again gives the same bytes.
func checkRoundTrip(t testing.TB, es []Entry) {
	t.Helper()
	out := writeAll(t, es)
	got, err := ReadEntries(bytes.NewReader(out), "written", ReaderOptions{})
	if err != nil {
		t.Fatalf("re-read failed: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(normalize(got), normalize(es)) {
		t.Fatalf("read(write(e)) != e\ngot  %q\nwant %q\n%s", got, es, out)
	}
	if again := writeAll(t, got); !bytes.Equal(again, out) {
		t.Fatalf("write(read(x)) not stable:\n%s\n---\n%s", out, again)
	}
}

var alphabet = []string{"a", "Z", "0", " ", ":", "<", "=", ",", "\x00", "\r", "\n", "\xff", "é", "営", "🙂", "#", "-", "\t"}

func randValue(r *rand.Rand) string {
	var b strings.Builder
	n := r.IntN(20)
	if r.IntN(10) == 0 {
		n = 60 + r.IntN(400) // long, folded
	}
	for range n {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

func randEntry(r *rand.Rand, i int) Entry {
	e := Entry{DN: "uid=u" + string(rune('a'+i%26)) + ",o=x"}
	if r.IntN(3) == 0 {
		e.DN = strings.ToValidUTF8(randValue(r), "?")
	}
	names := []string{"cn", "sn", "description", "jpegPhoto", "cn;lang-ja", "mailLocalAddress", "2.5.4.3"}
	r.Shuffle(len(names), func(a, b int) { names[a], names[b] = names[b], names[a] })
	for _, n := range names[:r.IntN(len(names))] {
		a := Attribute{Name: n}
		for range 1 + r.IntN(3) {
			a.Values = append(a.Values, randValue(r))
		}
		e.Attributes = append(e.Attributes, a)
	}
	return e
}

// TestRoundTripRandom writes and re-reads entries with every kind of value
// the writer must encode: non-ASCII, binary, leading/trailing spaces, long
// values, multi-valued attributes.
func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		checkRoundTrip(t, []Entry{randEntry(r, i), randEntry(r, i+1)})
	}
}

// TestRoundTripRealData: every readable content-only real file survives
// write(read(x)) unchanged in meaning, and re-writing is stable.
func TestRoundTripRealData(t *testing.T) {
	dir := realdataDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		es, err := ReadEntries(bytes.NewReader(b), f, ReaderOptions{})
		if err != nil {
			continue // invalid vectors and change files are covered by TestRealData
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) { checkRoundTrip(t, es) })
	}
	if n < 15 {
		t.Errorf("only %d content files round-tripped", n)
	}
}

// FuzzRoundTrip: any input the reader accepts as content records must be
// written and re-read to the same entries, and re-written byte for byte.
func FuzzRoundTrip(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "realdata", "*", "*.ldif"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Add([]byte("dn:: IA==\ncn:: IEplbnNlbiA=\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), "fuzz", ReaderOptions{OpenURL: func(*url.URL) (io.ReadCloser, error) {
			return nil, errors.New("no urls in fuzzing")
		}})
		var es []Entry
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return
			}
			if rec.ChangeType != "" {
				return
			}
			es = append(es, rec.Entry)
		}
		checkRoundTrip(t, es)
	})
}
