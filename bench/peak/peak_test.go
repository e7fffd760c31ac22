package peak

import (
	"testing"
)

// itersPerCall makes one call 0.4–0.5 million FMAs, 50–150 µs at a few
// GHz: long enough to hide the call, short enough for b.Loop to settle on
// a count quickly.
const itersPerCall = 1 << 14

// BenchmarkFMAPeak/avx2 and /avx512 report the FMA peak of one core in
// GFLOP/s: 2 FLOPs per lane per VFMADD231PS. Run it on one thread
// (GOMAXPROCS=1, as make bench does) on an otherwise idle core.
func BenchmarkFMAPeak(b *testing.B) {
	for _, k := range Kernels() {
		b.Run(k.Name, func(b *testing.B) {
			if k.Run == nil {
				b.Skip(k.Why)
			}
			calls := 0
			for b.Loop() {
				k.Run(itersPerCall)
				calls++
			}
			b.ReportMetric(k.FLOPs(itersPerCall)*float64(calls)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestKernels runs every kernel the CPU has (and a zero count) once.
func TestKernels(t *testing.T) {
	ks := Kernels()
	if len(ks) != 2 || ks[0].Name != "avx2" || ks[1].Name != "avx512" {
		t.Fatalf("kernels %+v, want avx2 and avx512", ks)
	}
	for _, k := range ks {
		if k.Run == nil {
			t.Logf("%s: %s", k.Name, k.Why)
			continue
		}
		k.Run(0)
		k.Run(3)
	}
	if got, want := ks[0].FLOPs(10), 2.0*8*24*10; got != want {
		t.Errorf("avx2 FLOPs(10) = %v, want %v", got, want)
	}
	if got, want := ks[1].FLOPs(10), 2.0*16*32*10; got != want {
		t.Errorf("avx512 FLOPs(10) = %v, want %v", got, want)
	}
}
