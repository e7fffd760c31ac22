package peers

import (
	"errors"
	"math/rand/v2"
	"sync"
	"syscall"
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

// TestOneDNNAVX2 is TestOneDNN for oneDNN limited to AVX2; it needs its own
// process: ONEDNN_MAX_CPU_ISA=AVX2 go test -run TestOneDNNAVX2 ./peers.
func TestOneDNNAVX2(t *testing.T) {
	if reason := skipAVX2(); reason != "" {
		t.Skip(reason)
	}
	t.Log(OneDNNInfo())
	if isa := OneDNNISA(); isa != "avx2" {
		t.Fatalf("oneDNN ISA limit %q (%s or DNNL_MAX_CPU_ISA), but oneDNN targets %s", OneDNNMaxISA(), MaxISAEnv, isa)
	}
	testPeer(t, OneDNNAVX2)
}

// TestOneDNNAcrossThreads builds each row's oneDNN runner on one OS thread
// and runs it on another, as cgo calls may land, then checks the output
// (the AVX2-limited library in a process limited by ONEDNN_MAX_CPU_ISA).
// Before the wrapper gave each primitive a scratchpad of its own, oneDNN's
// default global scratchpad was that of the creating thread: under AVX2,
// gc3_g32_c128_56 (im2col + sgemm) crashed here, SIGSEGV at address 0.
func TestOneDNNAcrossThreads(t *testing.T) {
	p := OneDNN
	if oneDNNRestricted() {
		if reason := skipAVX2(); reason != "" {
			t.Skip(reason)
		}
		p = OneDNNAVX2
	}
	for _, row := range rows(t) {
		t.Run(row.Name, func(t *testing.T) {
			// New and Close on this thread, Run on another: this goroutine
			// stays locked to its thread, parked while a second locked
			// goroutine runs r, so the two are different OS threads.
			defer LockThread()()
			here := syscall.Gettid()
			err := check(p, row, 1, func(r Runner) error {
				var there int
				var err error
				done := make(chan struct{})
				go func() {
					defer close(done)
					defer LockThread()()
					there = syscall.Gettid()
					err = r.Run()
				}()
				<-done
				if here == there {
					t.Fatalf("created and ran on the same thread %d", here)
				}
				return err
			})
			if isUnsupported(err) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestOneDNNAVX2Guard: where oneDNN targets more than AVX2, the AVX2 peer
// refuses to build rather than run (and be timed as) other code.
func TestOneDNNAVX2Guard(t *testing.T) {
	if isa := OneDNNISA(); isa == "avx2" {
		t.Skipf("oneDNN targets avx2 here (%s=%q): nothing to refuse", MaxISAEnv, OneDNNMaxISA())
	}
	row := rows(t)[0]
	r, err := OneDNNAVX2.New(row, make([]float32, row.Conv.WeightLen()))
	if err == nil {
		r.Close()
		t.Fatalf("oneDNN AVX2 built %s with oneDNN targeting %s", row.Name, OneDNNISA())
	}
	t.Log(err)
}

// skipAVX2 is why the AVX2-limited oneDNN is not run in this process, or "".
func skipAVX2() string {
	if !oneDNNRestricted() {
		return "oneDNN is not limited to AVX2 in this process: set " + MaxISAEnv + "=AVX2 (make bench runs it in a go test of its own)"
	}
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return "the CPU has no AVX2 and FMA"
	}
	return ""
}

// TestImpl logs which implementation oneDNN picks per row (go test -v;
// with ONEDNN_MAX_CPU_ISA=AVX2: the AVX2 picks).
func TestImpl(t *testing.T) {
	t.Logf("oneDNN ISA %s (%s=%q)", OneDNNISA(), MaxISAEnv, OneDNNMaxISA())
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

// BenchmarkOneDNN is the unrestricted library: it skips in a process whose
// oneDNN is limited by ONEDNN_MAX_CPU_ISA, which would time other code under
// its name.
func BenchmarkOneDNN(b *testing.B) {
	if oneDNNRestricted() {
		b.Skip("oneDNN is limited by " + MaxISAEnv + "/DNNL_MAX_CPU_ISA=" + OneDNNMaxISA() + " in this process; BenchmarkOneDNNAVX2 times that")
	}
	benchPeer(b, OneDNN)
}

// BenchmarkOneDNNAVX2 is oneDNN limited to AVX2: it runs only in a process
// started with ONEDNN_MAX_CPU_ISA=AVX2 and fails when oneDNN targets
// anything else there.
func BenchmarkOneDNNAVX2(b *testing.B) {
	if reason := skipAVX2(); reason != "" {
		b.Skip(reason)
	}
	if isa := OneDNNISA(); isa != "avx2" {
		b.Fatalf("oneDNN ISA limit %q (%s or DNNL_MAX_CPU_ISA), but oneDNN targets %s: nothing timed", OneDNNMaxISA(), MaxISAEnv, isa)
	}
	benchPeer(b, OneDNNAVX2)
}

func BenchmarkXNNPACK(b *testing.B) { benchPeer(b, XNNPACK) }

// benchPeer times Run only: weights are packed by New before the clock
// starts, as the generated benchmarks do with NewX. GFLOP/s is computed
// exactly as verify.Bench computes it. Each row's check, New, runs and
// Close are on one OS thread (LockThread), unlocked before the
// sub-benchmark's goroutine ends.
func benchPeer(b *testing.B, p Peer) {
	for _, row := range rows(b) {
		b.Run(row.Name, func(b *testing.B) {
			defer LockThread()()
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
