package backup

import (
	"encoding/json"
	"errors"
	"strconv"
)

var errSlowPath = errors.New("not a flat entry line")

// parseEntryLine is a fast path for the common manifest line: a flat JSON
// object of string and integer members, as json.Marshal writes an Entry.
// It returns errSlowPath for anything else (header, trailer, other value
// kinds), which then goes through encoding/json. encoding/json costs about
// as much CPU as the tar parsing during a restore; this costs a tenth of it.
func parseEntryLine(b []byte, e *Entry) error {
	i := 0
	skipSpace := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
			i++
		}
	}
	str := func() (string, error) {
		if i >= len(b) || b[i] != '"' {
			return "", errSlowPath
		}
		start := i + 1
		for j := start; j < len(b); j++ {
			switch c := b[j]; {
			case c == '"':
				i = j + 1
				return string(b[start:j]), nil
			case c == '\\' || c < 0x20:
				// Escapes: let encoding/json unquote this one string.
				end := j
				for end < len(b) {
					if b[end] == '\\' {
						end += 2
						continue
					}
					if b[end] == '"' {
						break
					}
					end++
				}
				if end >= len(b) {
					return "", errSlowPath
				}
				var s string
				if err := json.Unmarshal(b[i:end+1], &s); err != nil {
					return "", err
				}
				i = end + 1
				return s, nil
			}
		}
		return "", errSlowPath
	}
	integer := func() (int64, error) {
		start := i
		if i < len(b) && b[i] == '-' {
			i++
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
			return 0, errSlowPath
		}
		return strconv.ParseInt(string(b[start:i]), 10, 64)
	}
	skipSpace()
	if i >= len(b) || b[i] != '{' {
		return errSlowPath
	}
	i++
	*e = Entry{}
	for first := true; ; first = false {
		skipSpace()
		if first && i < len(b) && b[i] == '}' {
			i++
			break
		}
		key, err := str()
		if err != nil {
			return err
		}
		skipSpace()
		if i >= len(b) || b[i] != ':' {
			return errSlowPath
		}
		i++
		skipSpace()
		if i >= len(b) {
			return errSlowPath
		}
		if b[i] == '"' {
			v, err := str()
			if err != nil {
				return err
			}
			switch key {
			case "path":
				e.Path = v
			case "type":
				e.Type = EntryType(v)
			case "mode":
				m, err := strconv.ParseUint(v, 8, 32)
				if err != nil || m > 0o7777 {
					return errSlowPath
				}
				e.Mode = Perm(m)
			case "sha256":
				e.SHA256 = v
			case "link":
				e.Link = v
			case "skipped":
				e.Skipped = v
			default:
				return errSlowPath
			}
		} else {
			v, err := integer()
			if err != nil {
				return errSlowPath
			}
			switch key {
			case "size":
				e.Size = v
			case "uid":
				e.UID = int(v)
			case "gid":
				e.GID = int(v)
			case "mtime_ns":
				e.MtimeNS = v
			default:
				return errSlowPath
			}
		}
		skipSpace()
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i < len(b) && b[i] == '}' {
			i++
			break
		}
		return errSlowPath
	}
	skipSpace()
	if i != len(b) {
		return errSlowPath
	}
	return nil
}
