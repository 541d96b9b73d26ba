package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/mholt/archives"
)

// DefaultChunkSize is how much of the tar stream goes into one zstd frame.
// 4 MiB keeps two encoders busy with little memory (about 4 chunks in flight)
// while the per-frame overhead stays far below 0.1%.
const DefaultChunkSize = 4 << 20

// DefaultLevel is the zstd level archives are written at: klauspost's
// SpeedFastest (about `zstd -1`). On the synthetic 1.3 GB server-root it costs
// about 35% less CPU than SpeedDefault (about `zstd -3`) for 3-4% more output;
// upgrade backups are short-lived and the backup sits in the upgrade's
// downtime window, so time wins. Options.Level picks another level.
const DefaultLevel = zstd.SpeedFastest

// FramedZstd is an archives.Compression that writes the stream as a sequence
// of independent zstd frames of ChunkSize input bytes each, compressed on
// Workers goroutines and written in order. Concatenated frames are one valid
// .zst stream (RFC 8878 §3.1), so `zstd -dc` and `tar --zstd` read it as usual.
//
// klauspost's streaming encoder keeps only about 1.4 cores busy; independent
// frames are what `zstd -T0` does and use every worker (BENCHMARKS.md, Archive).
// The writer's Close reports the first compression or write error, which
// archives.CompressedArchive would drop: callers must Close it themselves.
type FramedZstd struct {
	// Level is the klauspost encoder level; zero means DefaultLevel.
	Level zstd.EncoderLevel
	// ChunkSize is the input size of each frame; zero means DefaultChunkSize.
	ChunkSize int
	// Workers is the number of frames compressed at once; zero means 2.
	Workers int

	// skipChecksum skips the frames' xxhash64 check on reading; restores use
	// it because every file's sha256 and every header are checked against the
	// manifest anyway. Verify keeps it.
	skipChecksum bool
}

var _ archives.Compression = FramedZstd{}

// Extension returns ".zst".
func (FramedZstd) Extension() string { return ".zst" }

// MediaType returns the zstd media type (RFC 8878 §7.1).
func (FramedZstd) MediaType() string { return "application/zstd" }

// Match delegates to archives.Zstd: the framing is invisible to readers.
func (FramedZstd) Match(ctx context.Context, filename string, stream io.Reader) (archives.MatchResult, error) {
	return archives.Zstd{}.Match(ctx, filename, stream)
}

// OpenReader returns a decoder for concatenated zstd frames that decodes up
// to Workers frames at once; frame checksums are verified, so a flipped byte
// inside a frame is an error. Streams whose frames are larger than 16 MiB
// (a single-frame `zstd -T0` file) are decoded streaming from there on.
func (z FramedZstd) OpenReader(r io.Reader) (io.ReadCloser, error) {
	workers := z.Workers
	if workers <= 0 {
		workers = 2
	}
	fr, err := newFrameReader(r, workers, z.skipChecksum)
	if err != nil {
		return nil, fmt.Errorf("zstd: open reader: %w", err)
	}
	return fr, nil
}

// OpenWriter returns a writer that compresses what is written into frames.
// Close flushes the last frame and returns the first error met by any frame.
func (z FramedZstd) OpenWriter(w io.Writer) (io.WriteCloser, error) {
	level := z.Level
	if level == 0 {
		level = DefaultLevel
	}
	chunk := z.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	workers := z.Workers
	if workers <= 0 {
		workers = 2
	}
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(level),
		zstd.WithEncoderConcurrency(workers),
		zstd.WithEncoderCRC(true),
		zstd.WithWindowSize(windowFor(chunk)),
	)
	if err != nil {
		return nil, fmt.Errorf("zstd: open writer: %w", err)
	}
	fw := &frameWriter{
		enc:   enc,
		out:   w,
		chunk: chunk,
		order: make(chan *frameJob, workers*2),
		free:  make(chan []byte, workers*2+2),
		done:  make(chan struct{}),
	}
	fw.buf = fw.getBuf()
	go fw.writeLoop()
	return fw, nil
}

// windowFor returns the smallest power of two window covering one chunk, as
// a frame never refers beyond its own start.
func windowFor(chunk int) int {
	w := zstd.MinWindowSize
	for w < chunk && w < zstd.MaxWindowSize {
		w <<= 1
	}
	return w
}

type frameJob struct {
	in    []byte
	out   []byte
	ready chan struct{}
}

type frameWriter struct {
	enc   *zstd.Encoder
	out   io.Writer
	chunk int
	buf   []byte
	order chan *frameJob // frames in submission order, bounded: limits memory
	free  chan []byte    // recycled input buffers
	done  chan struct{}  // closed when writeLoop returns

	mu     sync.Mutex
	err    error
	closed bool
}

func (fw *frameWriter) getBuf() []byte {
	select {
	case b := <-fw.free:
		return b[:0]
	default:
		return make([]byte, 0, fw.chunk)
	}
}

func (fw *frameWriter) setErr(err error) {
	fw.mu.Lock()
	if fw.err == nil {
		fw.err = err
	}
	fw.mu.Unlock()
}

func (fw *frameWriter) getErr() error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.err
}

// Write buffers p and hands each full chunk to an encoder goroutine.
func (fw *frameWriter) Write(p []byte) (int, error) {
	if fw.closed {
		return 0, errors.New("zstd: write after close")
	}
	if err := fw.getErr(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		room := fw.chunk - len(fw.buf)
		take := min(room, len(p))
		fw.buf = append(fw.buf, p[:take]...)
		p = p[take:]
		n += take
		if len(fw.buf) == fw.chunk {
			if err := fw.submit(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (fw *frameWriter) submit() error {
	j := &frameJob{in: fw.buf, ready: make(chan struct{})}
	fw.buf = fw.getBuf()
	select {
	case fw.order <- j:
	case <-fw.done:
		return fw.getErr()
	}
	go func() {
		j.out = fw.enc.EncodeAll(j.in, make([]byte, 0, len(j.in)/2))
		close(j.ready)
	}()
	return nil
}

func (fw *frameWriter) writeLoop() {
	defer close(fw.done)
	for j := range fw.order {
		<-j.ready
		if fw.getErr() == nil {
			if _, err := fw.out.Write(j.out); err != nil {
				fw.setErr(fmt.Errorf("zstd: write frame: %w", err))
			}
		}
		select {
		case fw.free <- j.in:
		default:
		}
	}
}

// Close compresses the last partial chunk, waits for every frame to be
// written and returns the first error; it does not close the underlying writer.
func (fw *frameWriter) Close() error {
	if fw.closed {
		return fw.getErr()
	}
	var err error
	if len(fw.buf) > 0 {
		err = fw.submit()
	}
	fw.closed = true
	close(fw.order)
	<-fw.done
	fw.enc.Close()
	if e := fw.getErr(); e != nil {
		return e
	}
	return err
}
