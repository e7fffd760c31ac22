//go:build !amd64

package peak

// Kernels are the FMA loops in benchmark order: none outside amd64.
func Kernels() []Kernel {
	const why = "the FMA peak kernels are amd64 assembly"
	return []Kernel{
		{Name: "avx2", Lanes: 8, FMAs: ymmAccumulators * unroll, Why: why},
		{Name: "avx512", Lanes: 16, FMAs: zmmAccumulators * unroll, Why: why},
	}
}
