package backup

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// maxParallelFrame is the largest compressed frame decoded whole in memory;
// a stream with a larger frame (e.g. one written by `zstd -T0`, which is a
// single frame) is decoded by the streaming decoder from that frame on.
const maxParallelFrame = 16 << 20

// frameReader decodes concatenated zstd frames on several goroutines and
// returns the content in order. Each frame is cut out of the stream by its
// block headers (RFC 8878 §3.1.1) and decoded with DecodeAll, which checks
// the frame's content checksum.
type frameReader struct {
	dec    *zstd.Decoder
	order  chan *frameDec
	free   chan []byte // output buffers of consumed frames, for reuse
	inFree chan []byte // input buffers of decoded frames, for reuse
	stop   chan struct{}
	cur    *frameDec
	off    int
	err    error
}

type frameDec struct {
	in     []byte
	out    []byte
	err    error
	ready  chan struct{}
	stream io.Reader // fallback: decode the rest of the input streaming
}

func newFrameReader(r io.Reader, workers int, skipChecksum bool) (*frameReader, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(workers), zstd.WithDecoderMaxMemory(1<<30), zstd.IgnoreChecksum(skipChecksum))
	if err != nil {
		return nil, err
	}
	fr := &frameReader{dec: dec, order: make(chan *frameDec, workers*2), free: make(chan []byte, workers*2+2), inFree: make(chan []byte, workers*2+2), stop: make(chan struct{})}
	go fr.split(bufio.NewReaderSize(r, 1<<20))
	return fr, nil
}

// split cuts frames from br and starts their decoding, in order.
func (fr *frameReader) split(br *bufio.Reader) {
	defer close(fr.order)
	send := func(j *frameDec) bool {
		select {
		case fr.order <- j:
			return true
		case <-fr.stop:
			return false
		}
	}
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return
		}
		var in []byte
		select {
		case in = <-fr.inFree:
		default:
			in = make([]byte, 0, 2<<20)
		}
		frame, err := cutFrame(br, in)
		if errors.Is(err, errFrameTooBig) {
			// Hand the bytes read so far and the rest to a streaming decoder.
			d, derr := zstd.NewReader(io.MultiReader(bytesReader(frame), br), zstd.WithDecoderConcurrency(2), zstd.WithDecoderMaxWindow(1<<30))
			j := &frameDec{ready: make(chan struct{}), err: derr}
			if derr == nil {
				j.stream = d
			}
			close(j.ready)
			send(j)
			<-fr.stop
			if d != nil {
				d.Close()
			}
			return
		}
		j := &frameDec{in: frame, ready: make(chan struct{})}
		if err != nil {
			j.err = err
			close(j.ready)
			send(j)
			return
		}
		if !send(j) {
			return
		}
		go func() {
			var buf []byte
			select {
			case buf = <-fr.free:
			default:
			}
			j.out, j.err = fr.dec.DecodeAll(j.in, buf[:0])
			select {
			case fr.inFree <- j.in:
			default:
			}
			j.in = nil
			close(j.ready)
		}()
	}
}

func bytesReader(b []byte) io.Reader {
	return &sliceReader{b: b}
}

type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

var errFrameTooBig = errors.New("zstd frame too big to decode whole")

// cutFrame reads one whole frame (or skippable frame) from br.
func cutFrame(br *bufio.Reader, frame []byte) ([]byte, error) {
	frame = frame[:0]
	need := func(n int) ([]byte, error) {
		start := len(frame)
		frame = slices.Grow(frame, n)[:start+n]
		if _, err := io.ReadFull(br, frame[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			frame = frame[:start]
			return nil, fmt.Errorf("zstd: truncated frame: %w", err)
		}
		return frame[start:], nil
	}
	hdr, err := need(5)
	if err != nil {
		return frame, err
	}
	magic := binary.LittleEndian.Uint32(hdr)
	if magic&0xFFFFFFF0 == 0x184D2A50 { // skippable frame: magic, size, data
		if _, err := need(3); err != nil {
			return frame, err
		}
		size := int(binary.LittleEndian.Uint32(frame[4:8]))
		if size > maxParallelFrame {
			return frame, errFrameTooBig
		}
		_, err := need(size)
		return frame, err
	}
	if magic != 0xFD2FB528 {
		return frame, fmt.Errorf("zstd: bad frame magic %#x", magic)
	}
	fhd := hdr[4]
	n := 0
	if fhd&0x20 == 0 {
		n++ // window descriptor
	}
	n += []int{0, 1, 2, 4}[fhd&3]
	fcs := []int{0, 2, 4, 8}[fhd>>6]
	if fhd>>6 == 0 && fhd&0x20 != 0 {
		fcs = 1
	}
	if _, err := need(n + fcs); err != nil {
		return frame, err
	}
	for {
		bh, err := need(3)
		if err != nil {
			return frame, err
		}
		h := uint32(bh[0]) | uint32(bh[1])<<8 | uint32(bh[2])<<16
		size := int(h >> 3)
		switch (h >> 1) & 3 {
		case 1: // RLE: one byte repeated
			size = 1
		case 3:
			return frame, errors.New("zstd: reserved block type")
		}
		if len(frame)+size > maxParallelFrame {
			return frame, errFrameTooBig
		}
		if _, err := need(size); err != nil {
			return frame, err
		}
		if h&1 != 0 {
			break
		}
	}
	if fhd&4 != 0 {
		if _, err := need(4); err != nil {
			return frame, err
		}
	}
	return frame, nil
}

func (fr *frameReader) Read(p []byte) (int, error) {
	for {
		if fr.err != nil {
			return 0, fr.err
		}
		if fr.cur != nil {
			if fr.cur.stream != nil {
				n, err := fr.cur.stream.Read(p)
				if err != nil {
					fr.err = err
				}
				if n > 0 || err != nil {
					return n, err
				}
				continue
			}
			if fr.off < len(fr.cur.out) {
				n := copy(p, fr.cur.out[fr.off:])
				fr.off += n
				return n, nil
			}
		}
		j, ok := <-fr.order
		if !ok {
			fr.err = io.EOF
			continue
		}
		<-j.ready
		if j.err != nil {
			fr.err = j.err
			continue
		}
		if fr.cur != nil && fr.cur.out != nil {
			select {
			case fr.free <- fr.cur.out:
			default:
			}
		}
		fr.cur, fr.off = j, 0
	}
}

// Close stops the splitter and releases the decoders.
func (fr *frameReader) Close() error {
	close(fr.stop)
	for j := range fr.order {
		<-j.ready
	}
	fr.dec.Close()
	return nil
}
