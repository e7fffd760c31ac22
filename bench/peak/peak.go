// Package peak measures the single-core FMA peak of this machine: long runs
// of independent VFMADD231PS instructions on YMM (AVX2+FMA) and ZMM
// (AVX-512F) registers, many accumulators, no loads or stores, so that only
// the FMA pipes limit the rate. BenchmarkFMAPeak/avx2 and
// BenchmarkFMAPeak/avx512 report it in GFLOP/s (2 FLOPs per lane per FMA);
// make bench runs them on one thread beside the kernels, and cmd/table's
// "% of FMA peak" column divides by the peak of the row's best ISA.
//
// The kernels are hand-written Go assembly for amd64; elsewhere the
// benchmarks skip.
package peak

// A kernel runs iters iterations of its loop: FMAs fused multiply-adds of
// Lanes float32 lanes each per iteration.
type Kernel struct {
	Name  string // the sub-benchmark: avx2, avx512
	Lanes int    // float32 lanes per register
	FMAs  int    // VFMADD231PS per loop iteration
	// Run is nil where the CPU (or the build) lacks the instruction set;
	// Why says why.
	Run func(iters int)
	Why string
}

// FLOPs is what iters iterations of k compute: 2 per lane per FMA.
func (k Kernel) FLOPs(iters int) float64 {
	return 2 * float64(k.Lanes) * float64(k.FMAs) * float64(iters)
}

// Accumulators: enough independent dependency chains to cover the FMA
// latency on every pipe (4 cycles × 2 pipes on the x86 cores of 2017–2025
// need 8), with the two multiplicands in two more registers. AVX2 has 16
// vector registers, so its 12 accumulators and 2 sources fit with room to
// spare; AVX-512 has 32, and uses 16 ZMM accumulators.
const (
	ymmAccumulators = 12
	zmmAccumulators = 16
	// unroll is the number of rounds over all accumulators per loop
	// iteration, so the loop's own DECQ/JNZ are a small share.
	unroll = 2
)
