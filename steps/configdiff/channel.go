package configdiff

import (
	"slices"
	"strconv"
	"strings"
)

// Keyword-level merge of imta.cnf channel blocks (FORMATS.md §2.2).
//
// A channel block's first logical line is the channel name and its
// keywords; some keywords take arguments. The rule (iPlanet Messaging
// Server 5.2 Administrator's Guide, ch. 8 "Configuring Channel
// Definitions", https://docs.oracle.com/cd/E19957-01/816-6009-10/channel.htm):
// a token that is a number (`subdirs 20`, `notices 1 2 4 7`, `maxjobs 7`)
// or a double-quoted string (`backoff "pt5m" "pt10m"`) is an argument of
// the keyword before it; the keywords in wordArgKeywords take one word as
// their argument (`pool SMTP_POOL`, `daemon relay.example.com`,
// `saslswitchchannel tcp_auth`). Every other token is a keyword. The
// following lines (official host name, aliases) are a set, one line each.

// wordArgKeywords take one non-numeric word as argument.
var wordArgKeywords = map[string]bool{
	"aliasdetourhost": true, "alternatechannel": true, "channelfilter": true,
	"charset7": true, "charset8": true, "charsetesc": true, "conversiontag": true,
	"daemon": true, "defaulthost": true, "destinationfilter": true,
	"expandchannel": true, "fileinto": true, "filter": true,
	"interfaceaddress": true, "lastresort": true, "pool": true,
	"saslswitchchannel": true, "sourcefilter": true, "tlsswitchchannel": true,
	"user": true,
}

// takesWordArg also covers the numbered spam-filter keywords
// (sourcespamfilterNoptin, destinationspamfilterNoptin STRING).
func takesWordArg(kw string) bool {
	return wordArgKeywords[kw] || strings.HasSuffix(kw, "optin") && strings.Contains(kw, "spamfilter")
}

func isNumber(t string) bool {
	t = strings.TrimPrefix(t, "-")
	if t == "" {
		return false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isQuoted(t string) bool { return len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' }

// chanKeyword is one keyword of a channel's first line with its arguments.
type chanKeyword struct {
	key  string   // lower-cased keyword, KW#2 for a repeat
	toks []string // the keyword and its arguments as written
	line int      // physical line (of the first logical line) it starts on
}

func (k chanKeyword) value() string { return strings.Join(k.toks, " ") }

// physLine is one physical line of a channel's first logical line.
type physLine struct {
	text   string   // verbatim
	indent string   // leading whitespace
	toks   []string // tokens on it
	cont   bool     // ends with a backslash
	eol    string   // "\n", "\r\n" or ""
}

// hostPart is a line (or continued lines) after the first: a host name
// with the comment lines right before it, or trailing comments (key "").
type hostPart struct {
	key  string // host name, HOST#2 for a repeat; "" for a comment
	text string
}

// chanBlock is a channel block cut for the keyword merge.
type chanBlock struct {
	first []physLine
	kws   []chanKeyword
	rest  []hostPart
}

// tokens splits a line at whitespace, keeping a double-quoted string whole.
func tokens(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		default:
			j := i
			if c == '"' {
				if k := strings.IndexByte(s[i+1:], '"'); k >= 0 {
					j = i + 1 + k + 1
				}
			}
			for j < len(s) && !strings.ContainsRune(" \t\r\n", rune(s[j])) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

// splitChannel cuts a channel block's text; ok is false for a block the
// keyword merge does not handle (a comment inside a continued line, a
// line it cannot tokenise as parseIMTA does), which then merges whole.
func splitChannel(text string) (chanBlock, bool) {
	var c chanBlock
	ls := lines([]byte(text))
	i := 0
	for ; i < len(ls); i++ {
		l := ls[i]
		body := strings.TrimRight(l, "\r\n")
		pl := physLine{text: l, eol: l[len(body):], cont: continued(l)}
		if pl.cont {
			body = strings.TrimSuffix(strings.TrimRight(body, " \t"), `\`)
		}
		pl.indent = body[:len(body)-len(strings.TrimLeft(body, " \t"))]
		pl.toks = tokens(body)
		if i > 0 && strings.HasPrefix(l, "!") {
			return c, false
		}
		c.first = append(c.first, pl)
		if !pl.cont {
			i++
			break
		}
	}
	if len(c.first) == 0 || len(c.first[0].toks) == 0 || c.first[len(c.first)-1].cont {
		return c, false
	}
	seen := map[string]int{}
	for li, pl := range c.first {
		for ti, t := range pl.toks {
			if li == 0 && ti == 0 {
				continue // the channel name
			}
			if n := len(c.kws); n > 0 {
				prev := &c.kws[n-1]
				if isNumber(t) || isQuoted(t) || (len(prev.toks) == 1 && takesWordArg(strings.ToLower(prev.toks[0]))) {
					prev.toks = append(prev.toks, t)
					continue
				}
			}
			c.kws = append(c.kws, chanKeyword{key: numbered(seen, strings.ToLower(t)), toks: []string{t}, line: li})
		}
	}
	hosts := map[string]int{}
	lead := "" // comment lines go with the host line after them
	for ; i < len(ls); i++ {
		if strings.HasPrefix(ls[i], "!") {
			lead += ls[i]
			continue
		}
		phys := []string{ls[i]}
		for continued(phys[len(phys)-1]) && i+1 < len(ls) {
			i++
			if strings.HasPrefix(ls[i], "!") {
				return c, false
			}
			phys = append(phys, ls[i])
		}
		c.rest = append(c.rest, hostPart{key: numbered(hosts, logical(phys)), text: lead + strings.Join(phys, "")})
		lead = ""
	}
	if lead != "" {
		c.rest = append(c.rest, hostPart{text: lead})
	}
	return c, true
}

func numbered(seen map[string]int, k string) string {
	seen[k]++
	if n := seen[k]; n > 1 {
		return k + "#" + strconv.Itoa(n)
	}
	return k
}

func (c chanBlock) keywordMap() map[string]chanKeyword {
	m := make(map[string]chanKeyword, len(c.kws))
	for _, k := range c.kws {
		m[k.key] = k
	}
	return m
}

func (c chanBlock) hostMap() map[string]hostPart {
	m := map[string]hostPart{}
	for _, h := range c.rest {
		if h.key != "" {
			m[h.key] = h
		}
	}
	return m
}

// Sub-keys of a channel's resolutions and decisions: "channel NAME keyword
// KW" and "channel NAME host HOST".
const (
	keywordSep = " keyword "
	hostSep    = " host "
)

// mergeChannel merges one channel block that both the operator's and the
// new file have, keyword by keyword and host line by host line. ok is
// false when a block cannot be cut (the caller merges it whole).
func mergeChannel(file, key string, threeWay bool, b, o, n item, hb bool, p Policy, dec map[[2]string]Choice) (text string, res []Resolution, ok bool) {
	oc, ok1 := splitChannel(o.text)
	nc, ok2 := splitChannel(n.text)
	var bc chanBlock
	ok3 := true
	if hb {
		bc, ok3 = splitChannel(b.text)
	}
	if !ok1 || !ok2 || !ok3 {
		return "", nil, false
	}
	// take[k] = true: the operator's version of sub-key k (present or
	// absent) goes into the merge.
	sub := func(prefix string, order []string, bv, ov, nv map[string]string) map[string]bool {
		take := map[string]bool{}
		for _, k := range order {
			bs, hbk := bv[k]
			os, hok := ov[k]
			ns, hnk := nv[k]
			r := classify(threeWay, item{value: bs}, item{value: os}, item{value: ns}, hbk, hok, hnk)
			if r == "" {
				continue
			}
			sk := key + prefix + k
			out, by := resolve(r, p, dec[[2]string{file, sk}])
			rs := Resolution{File: file, Key: sk, Reason: r, Outcome: out, By: by,
				Old: strPtr(os, hok), New: strPtr(ns, hnk)}
			if threeWay {
				rs.Base = strPtr(bs, hbk)
			}
			res = append(res, rs)
			take[k] = out == OutcomeReapplied
		}
		return take
	}
	kwVals := func(c chanBlock) map[string]string {
		m := map[string]string{}
		for _, k := range c.kws {
			m[k.key] = k.value()
		}
		return m
	}
	hostVals := func(c chanBlock) map[string]string {
		m := map[string]string{}
		for k := range c.hostMap() {
			m[k] = k
		}
		return m
	}
	var kwOrder, hostOrder []string
	seenK, seenH := map[string]bool{}, map[string]bool{}
	for _, c := range []chanBlock{nc, oc, bc} {
		for _, k := range c.kws {
			if !seenK[k.key] {
				seenK[k.key] = true
				kwOrder = append(kwOrder, k.key)
			}
		}
		for _, h := range c.rest {
			if h.key != "" && !seenH[h.key] {
				seenH[h.key] = true
				hostOrder = append(hostOrder, h.key)
			}
		}
	}
	takeKW := sub(keywordSep, kwOrder, kwVals(bc), kwVals(oc), kwVals(nc))
	takeHost := sub(hostSep, hostOrder, hostVals(bc), hostVals(oc), hostVals(nc))

	// The merged sets; when they are the operator's or the new file's
	// exactly, that file's text is the merge.
	okw, nkw := oc.keywordMap(), nc.keywordMap()
	oh, nh := oc.hostMap(), nc.hostMap()
	var mkw []chanKeyword
	for _, k := range nc.kws {
		if !takeKW[k.key] {
			mkw = append(mkw, k)
		} else if ov, has := okw[k.key]; has {
			ov.line = k.line
			mkw = append(mkw, ov)
		}
	}
	last := len(nc.first) - 1
	for _, k := range oc.kws {
		if _, inNew := nkw[k.key]; !inNew && takeKW[k.key] {
			k.line = last
			mkw = append(mkw, k)
		}
	}
	var mhost []hostPart
	for _, h := range nc.rest {
		if h.key == "" || !takeHost[h.key] {
			mhost = append(mhost, h)
		} else if ov, has := oh[h.key]; has {
			mhost = append(mhost, ov)
		}
	}
	for _, h := range oc.rest {
		if _, inNew := nh[h.key]; h.key != "" && !inNew && takeHost[h.key] {
			mhost = append(mhost, h)
		}
	}

	same := func(c chanBlock) bool {
		want := c.keywordMap()
		if len(want) != len(mkw) {
			return false
		}
		for _, k := range mkw {
			if w, has := want[k.key]; !has || w.value() != k.value() {
				return false
			}
		}
		hm := c.hostMap()
		nHosts := 0
		for _, h := range mhost {
			if h.key == "" {
				continue
			}
			nHosts++
			if _, has := hm[h.key]; !has {
				return false
			}
		}
		return nHosts == len(hm)
	}
	switch {
	case same(oc):
		return o.text, res, true
	case same(nc):
		return n.text, res, true
	}
	return renderChannel(nc, mkw, mhost), res, true
}

func strPtr(s string, ok bool) *string {
	if !ok {
		return nil
	}
	return &s
}

// renderChannel writes the new block's first line with the merged
// keywords (a line whose tokens did not change stays verbatim; a keyword
// goes on the line its new-file version was on, an operator-added one on
// the last), then the merged host lines.
func renderChannel(nc chanBlock, kws []chanKeyword, hosts []hostPart) string {
	ls := make([]physLine, len(nc.first))
	copy(ls, nc.first)
	want := make([][]string, len(ls))
	want[0] = []string{nc.first[0].toks[0]}
	for _, k := range kws {
		want[k.line] = append(want[k.line], k.toks...)
	}
	var kept []physLine
	var keptWant [][]string
	for i, l := range ls {
		if i > 0 && len(want[i]) == 0 {
			continue
		}
		kept = append(kept, l)
		keptWant = append(keptWant, want[i])
	}
	var sb strings.Builder
	for i, l := range kept {
		cont := i < len(kept)-1
		if cont == l.cont && slices.Equal(l.toks, keptWant[i]) {
			sb.WriteString(l.text)
			continue
		}
		sb.WriteString(l.indent)
		sb.WriteString(strings.Join(keptWant[i], " "))
		if cont {
			sb.WriteString(" \\")
		}
		eol := l.eol
		if eol == "" && (cont || len(hosts) > 0) {
			eol = "\n"
		}
		sb.WriteString(eol)
	}
	for _, h := range hosts {
		if s := sb.String(); s != "" && !strings.HasSuffix(s, "\n") {
			sb.WriteByte('\n')
		}
		sb.WriteString(h.text)
	}
	return sb.String()
}
