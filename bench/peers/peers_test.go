package peers

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/convgen/convgen/verify"
	"golang.org/x/sys/cpu"
)

// specPath is the benchmark set, shared with the generated kernels package.
const specPath = "../spec.json"

func rows(tb testing.TB) []Row {
	tb.Helper()
	rs, err := LoadRows(specPath)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

// checks caches Check per peer and row: the tests and the benchmarks of one
// run share it, and the float64 reference of the large rows is not free.
var checks sync.Map // "peer/row" -> error (nil when the peer matched)

func checked(p Peer, row Row) error {
	key := p.Name + "/" + row.Name
	if v, ok := checks.Load(key); ok {
		err, _ := v.(error)
		return err
	}
	err := Check(p, row, 1)
	checks.Store(key, err)
	return err
}

func isUnsupported(err error) bool {
	var u *UnsupportedError
	return errors.As(err, &u)
}

func testPeer(t *testing.T, p Peer) {
	for _, row := range rows(t) {
		t.Run(row.Name, func(t *testing.T) {
			err := checked(p, row)
			if isUnsupported(err) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestOneDNN and TestXNNPACK check every row's output against
// verify.Reference on random data. A wrong peer fails here and in its
// benchmark, so it is never timed silently.
func TestOneDNN(t *testing.T) {
	t.Log(OneDNNInfo())
	t.Logf("CPU: AVX2 %v, FMA %v, AVX-512F %v", cpu.X86.HasAVX2, cpu.X86.HasFMA, cpu.X86.HasAVX512F)
	testPeer(t, OneDNN)
}

func TestXNNPACK(t *testing.T) { testPeer(t, XNNPACK) }

// TestImpl logs which implementation oneDNN picks per row (go test -v).
func TestImpl(t *testing.T) {
	for _, row := range rows(t) {
		w := make([]float32, row.Conv.WeightLen())
		r, err := OneDNN.New(row, w)
		if err != nil {
			t.Logf("%-16s %v", row.Name, err)
			continue
		}
		t.Logf("%-16s oneDNN %s", row.Name, r.Impl())
		r.Close()
	}
}

func BenchmarkOneDNN(b *testing.B)  { benchPeer(b, OneDNN) }
func BenchmarkXNNPACK(b *testing.B) { benchPeer(b, XNNPACK) }

// benchPeer times Run only: weights are packed by New before the clock
// starts, as the generated benchmarks do with NewX. GFLOP/s is computed
// exactly as verify.Bench computes it.
func benchPeer(b *testing.B, p Peer) {
	for _, row := range rows(b) {
		b.Run(row.Name, func(b *testing.B) {
			if err := checked(p, row); isUnsupported(err) {
				b.Skip(err)
			} else if err != nil {
				b.Fatalf("wrong result, not timed: %v", err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			weights := make([]float32, row.Conv.WeightLen())
			Random(rng, weights)
			r, err := p.New(row, weights)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			Random(rng, r.Src())
			runs := 0
			for b.Loop() {
				if err := r.Run(); err != nil {
					b.Fatal(err)
				}
				runs++
			}
			b.ReportMetric(verify.FLOPs(row.Conv, row.N, row.H, row.W)*float64(runs)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// goRunner is a pure-Go stand-in peer (the naive loop) to test Check itself.
type goRunner struct {
	row      Row
	weights  []float32
	src, dst []float32
}

func (r *goRunner) Src() []float32 { return r.src }
func (r *goRunner) Dst() []float32 { return r.dst }
func (r *goRunner) Impl() string   { return "naive" }
func (r *goRunner) Close()         {}
func (r *goRunner) Run() error {
	fwd, _ := verify.NaiveLayer(r.row.Conv)(r.weights, nil)
	return fwd(r.dst, r.src, r.row.N, r.row.H, r.row.W)
}

// TestCheck: Check passes a correct convolution and catches a wrong one
// (here: one weight changed after packing, as a layout bug would).
func TestCheck(t *testing.T) {
	row := rows(t)[0]
	fake := func(corrupt bool) Peer {
		return Peer{Name: "fake", New: func(row Row, weights []float32) (Runner, error) {
			in, out := row.Lens()
			w := append([]float32(nil), weights...)
			if corrupt {
				w[len(w)/2] += 0.25
			}
			return &goRunner{row: row, weights: w, src: make([]float32, in), dst: make([]float32, out)}, nil
		}}
	}
	if err := Check(fake(false), row, 1); err != nil {
		t.Fatalf("correct peer: %v", err)
	}
	if err := Check(fake(true), row, 1); err == nil {
		t.Fatal("corrupted peer passed the check")
	} else {
		t.Log(err)
	}
}
