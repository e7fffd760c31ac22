package peak

import "golang.org/x/sys/cpu"

// fmaYMM runs iters iterations of 24 VFMADD231PS on 12 YMM accumulators.
//
//go:noescape
func fmaYMM(iters int)

// fmaZMM runs iters iterations of 32 VFMADD231PS on 16 ZMM accumulators.
//
//go:noescape
func fmaZMM(iters int)

// Kernels are the FMA loops in benchmark order.
func Kernels() []Kernel {
	avx2 := Kernel{Name: "avx2", Lanes: 8, FMAs: ymmAccumulators * unroll}
	if cpu.X86.HasAVX && cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		avx2.Run = fmaYMM
	} else {
		avx2.Why = "the CPU has no AVX2 and FMA"
	}
	avx512 := Kernel{Name: "avx512", Lanes: 16, FMAs: zmmAccumulators * unroll}
	if cpu.X86.HasAVX512F {
		avx512.Run = fmaZMM
	} else {
		avx512.Why = "the CPU has no AVX-512F"
	}
	return []Kernel{avx2, avx512}
}
