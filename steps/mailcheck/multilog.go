package mailcheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// tai64Base is 2^62, the TAI64 label of 1970-01-01 00:00:00 TAI.
const tai64Base = uint64(1) << 62

// taiUTCOffset is the fixed TAI-UTC difference tai64nlocal applies
// (FORMATS.md §4: unix = tai − 2^62 − 10).
const taiUTCOffset = 10

// labelLen is "@" plus 24 hex digits.
const labelLen = 25

// ParseTAI64N decodes a multilog label "@" + 24 hex digits (tai64n(8)) into
// UTC, the way `TZ=UTC tai64nlocal` prints it: unix seconds = TAI64 seconds −
// 2^62 − 10, nanoseconds from the last 8 digits.
func ParseTAI64N(label []byte) (time.Time, error) {
	if len(label) != labelLen || label[0] != '@' {
		return time.Time{}, fmt.Errorf("tai64n label %q: want @ and 24 hex digits", label)
	}
	secs, ok1 := hexUint(label[1:17])
	nanos, ok2 := hexUint(label[17:25])
	if !ok1 || !ok2 || nanos >= 1e9 || secs < tai64Base || secs >= tai64Base+(1<<40) {
		return time.Time{}, fmt.Errorf("tai64n label %q: out of range", label)
	}
	return time.Unix(int64(secs-tai64Base)-taiUTCOffset, int64(nanos)).UTC(), nil
}

func hexUint(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case isDigit(c):
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

// MultilogFiles lists a multilog(8) directory in time order: the rotated
// files @<tai64n>.s and .u sorted by label (fixed-width hex sorts as time),
// then current. lock, state and anything else are skipped.
func MultilogFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("multilog %s: list: %w", dir, err)
	}
	var rotated []string
	hasCurrent := false
	for _, e := range ents {
		name := e.Name()
		switch {
		case name == "current":
			hasCurrent = true
		case rotatedLabel(name) != "":
			rotated = append(rotated, name)
		}
	}
	slices.Sort(rotated)
	out := make([]string, 0, len(rotated)+1)
	for _, n := range rotated {
		out = append(out, filepath.Join(dir, n))
	}
	if hasCurrent {
		out = append(out, filepath.Join(dir, "current"))
	}
	return out, nil
}

// rotatedLabel returns the "@…" label of a rotated multilog file name, or "".
func rotatedLabel(name string) string {
	if len(name) != labelLen+2 || !(strings.HasSuffix(name, ".s") || strings.HasSuffix(name, ".u")) {
		return ""
	}
	if _, err := ParseTAI64N([]byte(name[:labelLen])); err != nil {
		return ""
	}
	return name[:labelLen]
}

// qmailState remembers which channel (local/remote) each qmail-send
// delivery number belongs to, from "starting delivery D: msg N to local …".
type qmailState struct {
	deliveries map[string]string
}

// qmail-log(5) message shapes (FORMATS.md §4).
var (
	qmStarting = []byte("starting delivery ")
	qmDelivery = []byte("delivery ")
	qmSuccess  = []byte(": success:")
	qmFailure  = []byte(": failure:")
	qmDeferral = []byte(": deferral:")
	qmAlert    = []byte("alert:")
	qmWarning  = []byte("warning:")
	qmNewMsg   = []byte("new msg ")
	qmBounce   = []byte("bounce msg ")
)

// qmailChannel is the channel of qmail-send lines not tied to a delivery.
const qmailChannel = "qmail-send"

// classifyQmail rates one qmail-send line (the text after the label) per
// qmail-log(5): "delivery N: failure:" and "alert:" are hard errors,
// "deferral:" and "warning:" are trouble, success/new msg/bounce are
// normal, the rest is Other. It returns the channel (local or remote when
// the delivery was announced, else qmail-send) and a pseudo action letter
// (R failure, Q deferral, D success, E new msg, B bounce, ! alert/warning)
// so evidence reads like MTA records.
func (q *qmailState) classify(text []byte) (channel string, a Action, c Class) {
	channel = qmailChannel
	switch {
	case bytes.HasPrefix(text, qmStarting):
		id, rest, _ := bytes.Cut(text[len(qmStarting):], []byte(":"))
		ch := qmailChannel
		if i := bytes.Index(rest, []byte(" to ")); i >= 0 {
			if w, _, _ := bytes.Cut(rest[i+4:], []byte(" ")); len(w) > 0 {
				ch = string(w)
			}
		}
		if q.deliveries == nil {
			q.deliveries = map[string]string{}
		}
		if len(q.deliveries) > 10000 { // bound memory on logs that never finish deliveries
			clear(q.deliveries)
		}
		q.deliveries[string(id)] = ch
		return ch, 'O', ClassOther
	case bytes.HasPrefix(text, qmDelivery):
		id, _, _ := bytes.Cut(text[len(qmDelivery):], []byte(":"))
		if ch, ok := q.deliveries[string(id)]; ok {
			channel = ch
			delete(q.deliveries, string(id))
		}
		switch {
		case bytes.Contains(text, qmFailure):
			return channel, 'R', ClassHard
		case bytes.Contains(text, qmDeferral):
			return channel, 'Q', ClassTrouble
		case bytes.Contains(text, qmSuccess):
			return channel, 'D', ClassNormal
		}
	case bytes.HasPrefix(text, qmAlert):
		return channel, '!', ClassHard
	case bytes.HasPrefix(text, qmWarning):
		return channel, '!', ClassTrouble
	case bytes.HasPrefix(text, qmNewMsg):
		return channel, 'E', ClassNormal
	case bytes.HasPrefix(text, qmBounce):
		return channel, 'B', ClassNormal
	}
	return channel, 0, ClassOther
}

// ParseMultilogLine decodes one multilog line ("@" + 24 hex + space + text)
// and rates its text as a qmail-send line; state may be nil, in which case
// deliveries are not tied to local/remote.
func parseMultilogLine(line []byte, q *qmailState) (Record, error) {
	line = trimEOL(line)
	if len(line) < labelLen+1 || line[labelLen] != ' ' {
		return Record{}, fmt.Errorf("%w: multilog line without label", errNotRecord)
	}
	t, err := ParseTAI64N(line[:labelLen])
	if err != nil {
		return Record{}, fmt.Errorf("%w: %w", errNotRecord, err)
	}
	if q == nil {
		q = &qmailState{}
	}
	text := line[labelLen+1:]
	ch, a, c := q.classify(text)
	return Record{Time: t, Src: ch, Action: a, Class: c, Diag: string(text), Raw: string(line)}, nil
}
