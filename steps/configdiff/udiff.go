package configdiff

import (
	"bytes"
	"hash/maphash"
	"strconv"
)

// The line diff is written here rather than taken from a library: the ones
// we measured are either slow at 200k lines
// (sergi/go-diff 0.26 s, go-difflib 0.83 s, 2.7x-8x `diff -u`) or degrade /
// blow up (go-udiff, gotextdiff). GNU diff is fast because it interns lines,
// trims the common prefix and suffix, and discards lines that occur in only
// one file before running Myers' O(ND) search; we do the same, then slide
// change groups the way GNU's shift_boundaries does so the hunks match
// `diff -u` for the common cases. The search is exact (no "too expensive"
// cut-off), so the edit script is always a minimal one.

// unifiedContext is the number of context lines `diff -u` prints.
const unifiedContext = 3

// Unified returns the unified diff of old and new in the format of GNU
// `diff -u` (hunk headers, three lines of context, hunks closer than seven
// lines merged, "\ No newline at end of file" markers). The header lines
// carry nameA and nameB without timestamps. Equal inputs give nil.
func Unified(old, new []byte, nameA, nameB string) []byte {
	if bytes.Equal(old, new) {
		return nil
	}
	a, b := newText(old), newText(new)
	ca, cb := changedLines(a, b)
	var out bytes.Buffer
	out.Grow(len(old)/20 + 256)
	out.WriteString("--- ")
	out.WriteString(nameA)
	out.WriteString("\n+++ ")
	out.WriteString(nameB)
	out.WriteByte('\n')
	writeHunks(&out, a, b, ca, cb)
	return out.Bytes()
}

// text is a file cut into lines by offsets (no per-line slices, so the
// garbage collector has nothing to scan); line i is buf[at[i]:at[i+1]] and
// keeps its newline; a last line without one is kept too.
type text struct {
	buf []byte
	at  []int32
}

func newText(b []byte) text {
	at := make([]int32, 1, len(b)/32+2)
	for off := 0; off < len(b); {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			off = len(b)
		} else {
			off += i + 1
		}
		at = append(at, int32(off))
	}
	return text{buf: b, at: at}
}

func (t text) n() int            { return len(t.at) - 1 }
func (t text) line(i int) []byte { return t.buf[t.at[i]:t.at[i+1]] }

// changedLines marks, for each line of a and b, whether it is deleted
// (inserted) by a minimal edit script, after GNU-style boundary shifting.
func changedLines(a, b text) (ca, cb []bool) {
	// Slices one longer on each side give shift() the sentinels GNU has.
	ca = make([]bool, a.n()+2)
	cb = make([]bool, b.n()+2)
	ea, eb := intern(a, b)

	// Common prefix and suffix never change.
	pre := 0
	for pre < len(ea) && pre < len(eb) && ea[pre] == eb[pre] {
		pre++
	}
	suf := 0
	for suf < len(ea)-pre && suf < len(eb)-pre && ea[len(ea)-1-suf] == eb[len(eb)-1-suf] {
		suf++
	}
	// GNU analyses the differing middle plus the context lines around it.
	lo := max(pre-unifiedContext, 0)
	hiA := min(len(ea)-suf+unifiedContext, len(ea))
	hiB := min(len(eb)-suf+unifiedContext, len(eb))
	ma, mb := ea[lo:hiA], eb[lo:hiB]
	da, db := discards(ma, mb)
	var xs, ys []int32 // the lines left for the search
	var xi, yi []int   // their indexes in a and b
	for i, v := range ma {
		if da[i] == 0 {
			xs = append(xs, v)
			xi = append(xi, lo+i)
		} else {
			ca[lo+i+1] = true
		}
	}
	for i, v := range mb {
		if db[i] == 0 {
			ys = append(ys, v)
			yi = append(yi, lo+i)
		} else {
			cb[lo+i+1] = true
		}
	}
	if len(xs) > 0 || len(ys) > 0 {
		m := newMyers(xs, ys)
		m.compare(0, len(xs), 0, len(ys))
		for k, c := range m.cx {
			if c {
				ca[xi[k]+1] = true
			}
		}
		for k, c := range m.cy {
			if c {
				cb[yi[k]+1] = true
			}
		}
	}
	shift(ca, cb, ea)
	shift(cb, ca, eb)
	return ca[1 : a.n()+1], cb[1 : b.n()+1]
}

// intern maps every distinct line to a small integer so comparisons are
// integer compares. An open-addressing table over maphash avoids a string
// allocation per line, which is most of the cost of a Go map here.
func intern(a, b text) (ea, eb []int32) {
	size := 1
	for size < 2*(a.n()+b.n())+1 {
		size <<= 1
	}
	mask := uint64(size - 1)
	slots := make([]int32, size) // id+1; 0 = empty
	// rep[id] is the first line with that id: its index, plus len(a.at)
	// when it is in b.
	rep := make([]int32, 0, a.n()+b.n()/8)
	repLine := func(r int32) []byte {
		if int(r) < len(a.at) {
			return a.line(int(r))
		}
		return b.line(int(r) - len(a.at))
	}
	seed := maphash.MakeSeed()
	conv := func(t text, base int) []int32 {
		out := make([]int32, t.n())
		for i := range out {
			l := t.line(i)
			for s := maphash.Bytes(seed, l) & mask; ; s = (s + 1) & mask {
				id := slots[s] - 1
				if id < 0 {
					id = int32(len(rep))
					slots[s] = id + 1
					rep = append(rep, int32(base+i))
					out[i] = id
					break
				}
				if bytes.Equal(repLine(rep[id]), l) {
					out[i] = id
					break
				}
			}
		}
		return out
	}
	return conv(a, 0), conv(b, len(a.at))
}

// myers holds the state of Myers' linear-space bisection (the "middle
// snake" search of E. Myers, "An O(ND) Difference Algorithm", 1986, as in
// GNU diffutils' analyze.c).
type myers struct {
	x, y   []int32
	cx, cy []bool
	fd, bd []int // furthest points per diagonal, indexed by k+off
	off    int
}

func newMyers(x, y []int32) *myers {
	n := len(x) + len(y) + 3
	return &myers{x: x, y: y, cx: make([]bool, len(x)), cy: make([]bool, len(y)),
		fd: make([]int, n), bd: make([]int, n), off: len(y) + 1}
}

// compare marks the changed lines of x[xoff:xlim] against y[yoff:ylim].
func (m *myers) compare(xoff, xlim, yoff, ylim int) {
	for xoff < xlim && yoff < ylim && m.x[xoff] == m.y[yoff] {
		xoff++
		yoff++
	}
	for xlim > xoff && ylim > yoff && m.x[xlim-1] == m.y[ylim-1] {
		xlim--
		ylim--
	}
	switch {
	case xoff == xlim:
		for i := yoff; i < ylim; i++ {
			m.cy[i] = true
		}
	case yoff == ylim:
		for i := xoff; i < xlim; i++ {
			m.cx[i] = true
		}
	default:
		xmid, ymid := m.split(xoff, xlim, yoff, ylim)
		m.compare(xoff, xmid, yoff, ymid)
		m.compare(xmid, xlim, ymid, ylim)
	}
}

// split finds the midpoint of a shortest edit script of the two ranges by
// searching forward and backward at once until the paths overlap.
func (m *myers) split(xoff, xlim, yoff, ylim int) (int, int) {
	const maxInt = int(^uint(0) >> 1)
	fd, bd, o := m.fd, m.bd, m.off
	dmin, dmax := xoff-ylim, xlim-yoff
	fmid, bmid := xoff-yoff, xlim-ylim
	fmin, fmax, bmin, bmax := fmid, fmid, bmid, bmid
	odd := (fmid-bmid)&1 != 0
	fd[fmid+o] = xoff
	bd[bmid+o] = xlim
	for {
		if fmin > dmin {
			fmin--
			fd[fmin-1+o] = -1
		} else {
			fmin++
		}
		if fmax < dmax {
			fmax++
			fd[fmax+1+o] = -1
		} else {
			fmax--
		}
		for d := fmax; d >= fmin; d -= 2 {
			tlo, thi := fd[d-1+o], fd[d+1+o]
			x := tlo + 1
			if tlo < thi {
				x = thi
			}
			y := x - d
			for x < xlim && y < ylim && m.x[x] == m.y[y] {
				x++
				y++
			}
			fd[d+o] = x
			if odd && bmin <= d && d <= bmax && bd[d+o] <= x {
				return x, y
			}
		}
		if bmin > dmin {
			bmin--
			bd[bmin-1+o] = maxInt
		} else {
			bmin++
		}
		if bmax < dmax {
			bmax++
			bd[bmax+1+o] = maxInt
		} else {
			bmax--
		}
		for d := bmax; d >= bmin; d -= 2 {
			tlo, thi := bd[d-1+o], bd[d+1+o]
			x := thi - 1
			if tlo < thi {
				x = tlo
			}
			y := x - d
			for xoff < x && yoff < y && m.x[x-1] == m.y[y-1] {
				x--
				y--
			}
			bd[d+o] = x
			if !odd && fmin <= d && d <= fmax && x <= fd[d+o] {
				return x, y
			}
		}
	}
}

// shift slides each run of changed lines of one file as GNU diff's
// shift_boundaries does: first up to merge with earlier runs, then down as
// far as possible, then back up to line up with a run in the other file.
// changed and other carry a false sentinel at both ends; equivs is the
// interned file without sentinels.
func shift(changed, other []bool, equivs []int32) {
	eq := func(i int) int32 { return equivs[i-1] } // 1-based, as changed
	iEnd := len(changed) - 1
	i, j := 1, 1
	for {
		for i < iEnd && !changed[i] {
			for other[j] {
				j++
			}
			j++
			i++
		}
		if i == iEnd {
			return
		}
		start := i
		for i++; changed[i]; i++ {
		}
		for other[j] {
			j++
		}
		var corresponding int
		for {
			runlength := i - start
			for start > 1 && eq(start-1) == eq(i-1) {
				start--
				changed[start] = true
				i--
				changed[i] = false
				for changed[start-1] {
					start--
				}
				for j--; other[j]; j-- {
				}
			}
			corresponding = iEnd
			if other[j-1] {
				corresponding = i
			}
			for i != iEnd && eq(start) == eq(i) {
				changed[start] = false
				start++
				changed[i] = true
				i++
				for changed[i] {
					i++
				}
				for j++; other[j]; j++ {
					corresponding = i
				}
			}
			if runlength == i-start {
				break
			}
		}
		for corresponding < i {
			start--
			changed[start] = true
			i--
			changed[i] = false
			for j--; other[j]; j-- {
			}
		}
	}
}

// group is one run of changes: a[i0:i1] replaced by b[j0:j1].
type group struct{ i0, i1, j0, j1 int }

func groups(ca, cb []bool) []group {
	var gs []group
	i, j := 0, 0
	for i < len(ca) || j < len(cb) {
		if i < len(ca) && j < len(cb) && !ca[i] && !cb[j] {
			i++
			j++
			continue
		}
		g := group{i0: i, j0: j}
		for i < len(ca) && ca[i] {
			i++
		}
		for j < len(cb) && cb[j] {
			j++
		}
		g.i1, g.j1 = i, j
		gs = append(gs, g)
	}
	return gs
}

func writeHunks(out *bytes.Buffer, a, b text, ca, cb []bool) {
	gs := groups(ca, cb)
	for k := 0; k < len(gs); {
		// A hunk takes every following group whose gap is under 2c+1 lines.
		e := k
		for e+1 < len(gs) && gs[e+1].i0-gs[e].i1 < 2*unifiedContext+1 {
			e++
		}
		i0 := max(gs[k].i0-unifiedContext, 0)
		j0 := max(gs[k].j0-unifiedContext, 0)
		i1 := min(gs[e].i1+unifiedContext, a.n())
		j1 := min(gs[e].j1+unifiedContext, b.n())
		out.WriteString("@@ -")
		writeRange(out, i0, i1)
		out.WriteString(" +")
		writeRange(out, j0, j1)
		out.WriteString(" @@\n")
		i, j := i0, j0
		for g := k; g <= e; g++ {
			for ; i < gs[g].i0; i, j = i+1, j+1 {
				writeLine(out, ' ', a.line(i))
			}
			for ; i < gs[g].i1; i++ {
				writeLine(out, '-', a.line(i))
			}
			for ; j < gs[g].j1; j++ {
				writeLine(out, '+', b.line(j))
			}
		}
		for ; i < i1; i, j = i+1, j+1 {
			writeLine(out, ' ', a.line(i))
		}
		k = e + 1
	}
}

// writeRange prints a 0-based half-open range as GNU's
// print_unidiff_number_range does: "start,count", "start" for one line and
// "before,0" for none.
func writeRange(out *bytes.Buffer, lo, hi int) {
	var buf [24]byte
	switch {
	case hi-lo == 1:
		out.Write(strconv.AppendInt(buf[:0], int64(hi), 10))
	case hi == lo:
		out.Write(strconv.AppendInt(buf[:0], int64(lo), 10))
		out.WriteString(",0")
	default:
		out.Write(strconv.AppendInt(buf[:0], int64(lo+1), 10))
		out.WriteByte(',')
		out.Write(strconv.AppendInt(buf[:0], int64(hi-lo), 10))
	}
}

func writeLine(out *bytes.Buffer, tag byte, l []byte) {
	out.WriteByte(tag)
	out.Write(l)
	if len(l) == 0 || l[len(l)-1] != '\n' {
		out.WriteString("\n\\ No newline at end of file\n")
	}
}

// discards marks the lines GNU diff's discard_confusing_lines leaves out of
// the search (analyze.c): 1 for a line with no equal in the other file
// (it can never match), and, as a speed heuristic that can make the script
// slightly longer than minimal, lines with very many equals inside a run of
// such lines. Copying the heuristic keeps our hunks identical to `diff -u`.
func discards(a, b []int32) (da, db []byte) {
	maxID := int32(0)
	for _, v := range a {
		maxID = max(maxID, v)
	}
	for _, v := range b {
		maxID = max(maxID, v)
	}
	countA := make([]int32, maxID+1)
	countB := make([]int32, maxID+1)
	for _, v := range a {
		countA[v]++
	}
	for _, v := range b {
		countB[v]++
	}
	return discardFile(a, countB), discardFile(b, countA)
}

func discardFile(equivs []int32, other []int32) []byte {
	end := len(equivs)
	d := make([]byte, end)
	many := int32(5)
	for tem := end / 64; ; {
		tem >>= 2
		if tem <= 0 {
			break
		}
		many *= 2
	}
	for i, v := range equivs {
		switch n := other[v]; {
		case n == 0:
			d[i] = 1
		case n > many:
			d[i] = 2
		}
	}
	// Provisional discards stand only inside a run of discards whose first
	// and last lines are definite.
	for i := 0; i < end; i++ {
		if d[i] == 2 {
			d[i] = 0
			continue
		}
		if d[i] == 0 {
			continue
		}
		j, provisional := i, 0
		for ; j < end && d[j] != 0; j++ {
			if d[j] == 2 {
				provisional++
			}
		}
		for j > i && d[j-1] == 2 {
			j--
			d[j] = 0
			provisional--
		}
		length := j - i
		if provisional*4 > length {
			for j > i {
				j--
				if d[j] == 2 {
					d[j] = 0
				}
			}
			continue
		}
		minimum := 1
		for tem := length >> 2; ; {
			tem >>= 2
			if tem <= 0 {
				break
			}
			minimum <<= 1
		}
		minimum++
		for j, consec := 0, 0; j < length; j++ {
			switch {
			case d[i+j] != 2:
				consec = 0
			default:
				consec++
				if consec == minimum {
					j -= consec
				} else if consec > minimum {
					d[i+j] = 0
				}
			}
		}
		for j, consec := 0, 0; j < length; j++ {
			if j >= 8 && d[i+j] == 1 {
				break
			}
			switch d[i+j] {
			case 2:
				consec = 0
				d[i+j] = 0
			case 0:
				consec = 0
			default:
				consec++
			}
			if consec == 3 {
				break
			}
		}
		i += length - 1
		for j, consec := 0, 0; j < length; j++ {
			if j >= 8 && d[i-j] == 1 {
				break
			}
			switch d[i-j] {
			case 2:
				consec = 0
				d[i-j] = 0
			case 0:
				consec = 0
			default:
				consec++
			}
			if consec == 3 {
				break
			}
		}
	}
	return d
}
