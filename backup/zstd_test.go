package backup

import (
	"bytes"
	"encoding/binary"
	"io"
	"os/exec"
	"testing"
)

func TestFramedZstdReadsWhatOthersWrite(t *testing.T) {
	requireTool(t, "zstd", "zstd missing: apt-get install zstd")
	cli := func(data []byte, args ...string) []byte {
		cmd := exec.Command("zstd", append(args, "-c", "-q")...)
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ours := func(data []byte) []byte {
		var b bytes.Buffer
		w, _ := FramedZstd{ChunkSize: 64 << 10}.OpenWriter(&b)
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	text := bytes.Repeat([]byte("Subject: hello from the queue\n"), 100_000)
	random := randBytes(9, 20<<20)
	skippable := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0x184D2A5E), 3)
	skippable = append(skippable, 1, 2, 3)
	cases := []struct {
		name       string
		compressed []byte
		want       []byte
	}{
		{"our many frames decode in order", ours(text), text},
		{"an empty stream decodes to nothing", ours(nil), nil},
		{"a zstd CLI frame decodes whole", cli(text, "-3"), text},
		{"a frame over 16 MiB falls back to streaming", cli(random, "-1", "-T0"), random},
		{"a skippable frame is skipped", append(skippable, ours(text)...), text},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := FramedZstd{}.OpenReader(bytes.NewReader(c.compressed))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("decoded %d bytes, want %d (equal=%v)", len(got), len(c.want), bytes.Equal(got, c.want))
			}
		})
	}
}
