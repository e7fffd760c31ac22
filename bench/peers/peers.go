package peers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"

	"github.com/convgen/convgen/verify"
)

// Runner is one peer convolution, built for one row with its weights
// already in the peer's layout. Src and Dst are the peer's own (C-allocated)
// NHWC buffers: fill Src, call Run, read Dst. Close frees everything.
type Runner interface {
	Src() []float32
	Dst() []float32
	Run() error
	// Impl names the implementation the library picked, when it tells.
	Impl() string
	Close()
}

// Peer is a library under comparison. Name is its benchmark name
// (BenchmarkOneDNN/<row>, BenchmarkOneDNNAVX2/<row>).
type Peer struct {
	Name string
	New  func(row Row, weights []float32) (Runner, error)
}

// The peers, in table order. OneDNNAVX2 is oneDNN limited to AVX2; it only
// runs in a process started with ONEDNN_MAX_CPU_ISA=AVX2 (MaxISAEnv), where
// OneDNN is not benchmarked. XNNPACK has no such switch: it always runs the
// best kernels it has for the CPU.
var (
	OneDNN     = Peer{Name: "OneDNN", New: newOneDNN}
	OneDNNAVX2 = Peer{Name: "OneDNNAVX2", New: newOneDNNAVX2}
	XNNPACK    = Peer{Name: "XNNPACK", New: newXNNPACK}
	All        = []Peer{OneDNN, OneDNNAVX2, XNNPACK}
)

// LockThread wires the calling goroutine to its OS thread until the
// returned function is called (defer LockThread()()), so that every call
// into a peer's C library from there, New, Run and Close of a runner, runs
// on one thread: the libraries keep per-thread state (OpenMP's thread
// count, oneDNN's per-thread scratchpad in its default mode). Calls nest;
// the goroutine must call the returned function before it returns.
func LockThread() (unlock func()) {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}

// UnsupportedError says a peer has no implementation for a shape: the
// benchmark skips it and the table shows n/a.
type UnsupportedError struct {
	Peer, Msg string
}

func (e *UnsupportedError) Error() string { return e.Peer + ": unsupported: " + e.Msg }

// Random fills s with values in [-1, 1), as verify.Bench does.
func Random(rng *rand.Rand, s []float32) {
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
}

// Check runs p on random data for row and compares every output with
// verify.Reference within verify.Tolerance. It returns an
// *UnsupportedError when p cannot run the shape. The peer is built, run and
// closed on one OS thread (see LockThread).
func Check(p Peer, row Row, seed uint64) error {
	defer LockThread()()
	return check(p, row, seed, Runner.Run)
}

// check is Check with run to run the peer once.
func check(p Peer, row Row, seed uint64, run func(Runner) error) error {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	c := row.Conv
	weights := make([]float32, c.WeightLen())
	Random(rng, weights)
	r, err := p.New(row, weights)
	if err != nil {
		return err
	}
	defer r.Close()
	src, dst := r.Src(), r.Dst()
	Random(rng, src)
	// NaN marks outputs the peer did not write.
	for i := range dst {
		dst[i] = float32(math.NaN())
	}
	if err := run(r); err != nil {
		return err
	}
	ref, mag := verify.Reference(c, src, weights, nil, row.N, row.H, row.W)
	if len(ref) != len(dst) {
		return fmt.Errorf("%s %s: dst has %d elements, reference %d", p.Name, row.Name, len(dst), len(ref))
	}
	bad, first := 0, -1
	for i, want := range ref {
		// !(d <= tol) also catches NaN.
		if d := math.Abs(float64(dst[i]) - want); !(d <= verify.Tolerance(c, mag[i])) {
			if bad == 0 {
				first = i
			}
			bad++
		}
	}
	if bad == 0 {
		return nil
	}
	_, ow := c.OutputSize(row.H, row.W)
	o := first % c.Cout
	x := first / c.Cout % ow
	y := first / c.Cout / ow
	return fmt.Errorf("%s %s (impl %s): %d of %d outputs outside verify.Tolerance; first at y=%d x=%d c=%d: got %g, want %g ± %g",
		p.Name, row.Name, r.Impl(), bad, len(ref), y, x, o, dst[first], ref[first], verify.Tolerance(c, mag[first]))
}
