package backup

import (
	"encoding/json"
	"testing"
)

func TestFastEntryParserAgreesWithEncodingJSON(t *testing.T) {
	entries := []Entry{
		{Path: ".", Type: TypeDir, Mode: 0o755, UID: 0, GID: 0, MtimeNS: 1_600_000_000_123_456_789},
		{Path: "a/b c", Type: TypeFile, Size: 12, Mode: 0o4755, UID: 100, GID: 200, MtimeNS: -5, SHA256: "ab12"},
		{Path: "quote\"back\\slash\ttab/日本語", Type: TypeSymlink, Mode: 0o777, Link: "/etc/x\u2028"},
		{Path: "s", Type: TypeSocket, Skipped: "socket: recreated by its daemon"},
		{Path: "h", Type: TypeHardlink, Link: "a/b c", SHA256: "ff", Size: 3},
	}
	for _, want := range entries {
		t.Run(want.Path, func(t *testing.T) {
			b, _ := json.Marshal(want)
			var got Entry
			if err := parseEntryLine(b, &got); err != nil {
				t.Fatalf("fast path refused %s: %v", b, err)
			}
			if got != want {
				t.Errorf("fast path read %+v, want %+v", got, want)
			}
		})
	}
	for _, line := range []string{
		`{"manifest":{"version":1}}`,
		`{"end":{"entries":1}}`,
		`{"path":"x","size":1.5}`,
		`{"path":"x","extra":"y"}`,
		`{"path":"x"} trailing`,
		`{"path":"x",}`,
	} {
		var e Entry
		if err := parseEntryLine([]byte(line), &e); err == nil {
			t.Errorf("fast path accepted %s", line)
		}
	}
}
