package export

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// maxMessage bounds one LDAPMessage read from the server. Space for a
// message is grown as its bytes arrive, so a lying length costs at most
// what the peer really sent.
const maxMessage = 1 << 30

// readBufSize is the read buffer: messages that fit are decoded in place.
const readBufSize = 256 << 10

// msgReader frames LDAPMessages (a definite-length SEQUENCE each) from a
// byte stream.
type msgReader struct {
	br      *bufio.Reader
	pending int    // bytes of the last in-buffer message still to discard
	big     []byte // a message larger than the buffer
}

func newMsgReader(r io.Reader) *msgReader {
	return &msgReader{br: bufio.NewReaderSize(r, readBufSize)}
}

// next returns the contents of the next LDAPMessage SEQUENCE. They are
// valid until the following call.
func (r *msgReader) next() ([]byte, error) {
	if r.pending > 0 {
		if _, err := r.br.Discard(r.pending); err != nil {
			return nil, err
		}
		r.pending = 0
	}
	if cap(r.big) > 4*readBufSize {
		r.big = nil // keep memory flat after one huge entry
	}
	h, err := r.br.Peek(2)
	if err != nil {
		if errors.Is(err, io.EOF) && len(h) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if h[0] != tagSequence {
		return nil, fmt.Errorf("%w: LDAPMessage starts with 0x%02x", errBER, h[0])
	}
	n, hdr := int(h[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 {
			return nil, fmt.Errorf("%w: LDAPMessage length form 0x%02x", errBER, h[1])
		}
		if h, err = r.br.Peek(2 + k); err != nil {
			return nil, noEOF(err)
		}
		var l uint64
		for _, c := range h[2:] {
			l = l<<8 | uint64(c)
		}
		if l > maxMessage {
			return nil, fmt.Errorf("%w: LDAPMessage of %d bytes", errBER, l)
		}
		n, hdr = int(l), 2+k
	}
	if _, err := r.br.Discard(hdr); err != nil {
		return nil, noEOF(err)
	}
	if n <= r.br.Size() {
		b, err := r.br.Peek(n)
		if err != nil {
			return nil, noEOF(err)
		}
		r.pending = n
		return b, nil
	}
	r.big = r.big[:0]
	for len(r.big) < n {
		grow := min(n-len(r.big), max(readBufSize, len(r.big)))
		r.big = append(r.big, make([]byte, grow)...)
		if _, err := io.ReadFull(r.br, r.big[len(r.big)-grow:]); err != nil {
			return nil, noEOF(err)
		}
	}
	return r.big, nil
}

// noEOF reports a stream that ends inside a message as unexpected.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
