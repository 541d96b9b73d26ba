package mailcheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Attempts decodes the delivery-attempt count from the first two characters
// of a queue file name, written in "complemented base 36" (FORMATS.md §2.8):
// with d over 0-9A-Z, attempts = (35−d(c1))·36 + (35−d(c2)); ZZ = 0, ZY = 1,
// ZA = 25, Z0 = 35, YZ = 36. Lower-case letters are read as upper case.
func Attempts(name string) (int, error) {
	if len(name) < 2 {
		return 0, fmt.Errorf("queue file %q: name too short for an attempt count", name)
	}
	d1, ok1 := base36(name[0])
	d2, ok2 := base36(name[1])
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("queue file %q: attempt prefix %q is not base 36", name, name[:2])
	}
	return (35-d1)*36 + (35 - d2), nil
}

func base36(c byte) (int, bool) {
	switch {
	case isDigit(c):
		return int(c - '0'), true
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10, true
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10, true
	}
	return 0, false
}

// QueueMessage is one message file in a channel queue.
type QueueMessage struct {
	Channel string `json:"channel"`
	// Path is relative to the queue root, slash-separated
	// (tcp_local/002/ZZf0r4i0Wdy51.01).
	Path string `json:"path"`
	// ID is the file name without its attempt prefix and suffix, so it
	// stays the same when a retry or a hold renames the file.
	ID       string        `json:"id"`
	Attempts int           `json:"attempts"`
	Held     bool          `json:"held,omitempty"`
	ModTime  time.Time     `json:"mtime"`
	Age      time.Duration `json:"age"`
}

// ChannelQueue counts one channel's queue.
type ChannelQueue struct {
	// Messages counts files eligible for delivery; Held counts .HELD files.
	Messages    int           `json:"messages"`
	Held        int           `json:"held,omitempty"`
	MaxAttempts int           `json:"max_attempts,omitempty"`
	Oldest      time.Duration `json:"oldest,omitempty"`
	OldestPath  string        `json:"oldest_path,omitempty"`
}

// QueueSnapshot is the state of the queue tree at one moment.
type QueueSnapshot struct {
	Taken    time.Time               `json:"taken"`
	Channels map[string]ChannelQueue `json:"channels"`
	Messages int                     `json:"messages"`
	Held     int                     `json:"held"`
	// Oldest is the oldest message (held or not), nil on an empty queue.
	Oldest *QueueMessage `json:"oldest,omitempty"`
	// Ignored counts files that are neither messages nor $ temp files
	// (the documentation says nothing else belongs there).
	Ignored int `json:"ignored,omitempty"`
	// Temp counts $ temp files, which are skipped.
	Temp int `json:"temp,omitempty"`
}

// QueueLimits say when a queued message counts as stuck.
type QueueLimits struct {
	// MaxAttempts: more delivery attempts than this is stuck (0 = no limit).
	MaxAttempts int `json:"max_attempts"`
	// MaxAge: older than this (by mtime) is stuck (0 = no limit).
	MaxAge time.Duration `json:"max_age"`
	// Slack is how many messages a channel may hold above its baseline and
	// still count as "at baseline" (mail in transit).
	Slack int `json:"slack"`
	// RequireDrained fails a channel still above baseline at the end of
	// the window even when its count went down.
	RequireDrained bool `json:"require_drained,omitempty"`
}

// Stuck reports whether m is over a limit; held messages are reported
// separately and are not "stuck" by this test.
func (l QueueLimits) Stuck(m QueueMessage) bool {
	if m.Held {
		return false
	}
	return (l.MaxAttempts > 0 && m.Attempts > l.MaxAttempts) || (l.MaxAge > 0 && m.Age > l.MaxAge)
}

// queueFileKind sorts a directory entry name.
type queueFileKind int

const (
	kindOther queueFileKind = iota
	kindMessage
	kindHeld
	kindTemp
)

// classifyQueueName applies FORMATS.md §2.8: $ temp files; two base-36
// attempt characters, a unique part, and a two-character suffix (usually
// .00) or .HELD.
func classifyQueueName(name string) queueFileKind {
	if strings.HasPrefix(name, "$") {
		return kindTemp
	}
	dot := strings.LastIndexByte(name, '.')
	if dot < 3 {
		return kindOther
	}
	if _, err := Attempts(name); err != nil {
		return kindOther
	}
	suf := name[dot+1:]
	if strings.EqualFold(suf, "HELD") {
		return kindHeld
	}
	if len(suf) == 2 {
		if _, ok := base36(suf[0]); ok {
			if _, ok := base36(suf[1]); ok {
				return kindMessage
			}
		}
	}
	return kindOther
}

func isNumbered(name string) bool {
	return allDigits([]byte(name))
}

// ScanQueue reads the queue tree at dir: one directory per channel, message
// files directly in it or in numbered subdirectories (subdirs N), $ temp
// files ignored (FORMATS.md §2.8). It returns the counts and every message,
// sorted by path; ages come from mtimes against Probe.Now.
func (p *Probe) ScanQueue(ctx context.Context, dir string) (QueueSnapshot, []QueueMessage, error) {
	now := p.now()
	snap := QueueSnapshot{Taken: now, Channels: map[string]ChannelQueue{}}
	top, err := os.ReadDir(dir)
	if err != nil {
		return QueueSnapshot{}, nil, fmt.Errorf("queue %s: list: %w", dir, err)
	}
	var msgs []QueueMessage
	var walk func(channel, rel string, depth int) error
	walk = func(channel, rel string, depth int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return fmt.Errorf("list %s: %w", rel, err)
		}
		for _, e := range ents {
			name := e.Name()
			p := path.Join(rel, name)
			if e.IsDir() {
				if depth == 0 && isNumbered(name) {
					if err := walk(channel, p, 1); err != nil {
						return err
					}
				} else {
					snap.Ignored++
				}
				continue
			}
			kind := classifyQueueName(name)
			switch kind {
			case kindTemp:
				snap.Temp++
				continue
			case kindOther:
				snap.Ignored++
				continue
			}
			info, err := e.Info()
			if errors.Is(err, os.ErrNotExist) {
				continue // delivered while we looked
			}
			if err != nil {
				return fmt.Errorf("stat %s: %w", p, err)
			}
			att, _ := Attempts(name)
			msgs = append(msgs, QueueMessage{
				Channel: channel, Path: p, ID: name[2:strings.LastIndexByte(name, '.')], Attempts: att,
				Held: kind == kindHeld, ModTime: info.ModTime(), Age: max(now.Sub(info.ModTime()), 0),
			})
		}
		return nil
	}
	for _, e := range top {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "$"):
			snap.Temp++
		case e.IsDir() && !strings.HasPrefix(name, "."):
			if err := walk(name, name, 0); err != nil {
				return QueueSnapshot{}, nil, fmt.Errorf("queue %s: %w", dir, err)
			}
			if _, ok := snap.Channels[name]; !ok {
				snap.Channels[name] = ChannelQueue{}
			}
		default:
			snap.Ignored++
		}
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].Path < msgs[j].Path })
	for i := range msgs {
		m := &msgs[i]
		cq := snap.Channels[m.Channel]
		if m.Held {
			cq.Held++
			snap.Held++
		} else {
			cq.Messages++
			snap.Messages++
		}
		cq.MaxAttempts = max(cq.MaxAttempts, m.Attempts)
		if m.Age > cq.Oldest || cq.OldestPath == "" {
			cq.Oldest, cq.OldestPath = m.Age, m.Path
		}
		if snap.Oldest == nil || m.Age > snap.Oldest.Age {
			snap.Oldest = m
		}
		snap.Channels[m.Channel] = cq
	}
	if snap.Oldest != nil {
		o := *snap.Oldest // detach from msgs
		snap.Oldest = &o
	}
	return snap, msgs, nil
}

// ChannelNames returns the snapshot's channels in sorted order.
func (q QueueSnapshot) ChannelNames() []string {
	out := make([]string, 0, len(q.Channels))
	for ch := range q.Channels {
		out = append(out, ch)
	}
	sort.Strings(out)
	return out
}
