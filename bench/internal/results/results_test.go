package results

import (
	"strings"
	"testing"
)

// in has both packages, repeated runs, GOMAXPROCS suffixes, a result line
// split by the benchmark's output, a failed and a skipped peer.
const in = `pkg: github.com/convgen/convgen/bench/kernels
cpu: AMD EPYC
BenchmarkDw3_s1_c144_56/avx2         	    1000	    100000 ns/op	        40.00 GFLOP/s
BenchmarkDw3_s1_c144_56/avx2-2       	    1000	    100000 ns/op	        44.00 GFLOP/s
BenchmarkDw3_s1_c144_56/avx2         	    1000	    100000 ns/op	        42.00 GFLOP/s
BenchmarkDense3_c64_56/purego-2
some stray output
     100	   3000000 ns/op	        12.34 GFLOP/s
BenchmarkExtra/naive 	 10	 1 ns/op	 1.00 GFLOP/s
pkg: github.com/convgen/convgen/bench/peers
BenchmarkOneDNN/dw3_s1_c144_56       	    1000	    100000 ns/op	        30.00 GFLOP/s
BenchmarkOneDNNAVX2/dw3_s1_c144_56-2 	    1000	    100000 ns/op	        25.00 GFLOP/s
--- FAIL: BenchmarkXNNPACK/dense3_c64_56
--- SKIP: BenchmarkXNNPACK/gc1_g3_shuffle
--- FAIL: BenchmarkXNNPACK
`

func TestParseRows(t *testing.T) {
	r := New()
	if err := r.Parse(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if r.CPU != "AMD EPYC" || r.Count != 3 {
		t.Errorf("CPU %q, Count %d; want AMD EPYC, 3", r.CPU, r.Count)
	}
	names, cells := r.Rows([]string{"dw3_s1_c144_56", "dense3_c64_56"})
	if got, want := strings.Join(names, " "), "dw3_s1_c144_56 dense3_c64_56 gc1_g3_shuffle extra"; got != want {
		t.Errorf("rows %q, want %q", got, want)
	}
	for _, c := range []struct {
		row  string
		col  Column
		want float64
		ok   bool
	}{
		{"dw3_s1_c144_56", Column{Name: "avx2"}, 42, true},
		{"dw3_s1_c144_56", Column{Peer: true, Name: "OneDNN"}, 30, true},
		{"dw3_s1_c144_56", Column{Peer: true, Name: "OneDNNAVX2"}, 25, true},
		{"dense3_c64_56", Column{Name: "purego"}, 12.34, true},
		{"dense3_c64_56", Column{Peer: true, Name: "XNNPACK"}, 0, false},
		{"gc1_g3_shuffle", Column{Peer: true, Name: "XNNPACK"}, 0, false},
		{"extra", Column{Name: "naive"}, 1, true},
		{"extra", Column{Name: "avx2"}, 0, false},
	} {
		got, ok := cells[c.row][c.col].Value()
		if got != c.want || ok != c.ok {
			t.Errorf("%s %v: %v, %v; want %v, %v", c.row, c.col, got, ok, c.want, c.ok)
		}
	}
	if c := cells["dense3_c64_56"][Column{Peer: true, Name: "XNNPACK"}]; c == nil || !c.Failed {
		t.Errorf("dense3_c64_56 XNNPACK: %+v, want failed", c)
	}
	if c := cells["gc1_g3_shuffle"][Column{Peer: true, Name: "XNNPACK"}]; c == nil || !c.Skipped {
		t.Errorf("gc1_g3_shuffle XNNPACK: %+v, want skipped", c)
	}
}

// Without pkg: lines the peers are known by their benchmark names; the
// AVX2-limited oneDNN is a peer column of its own, apart from OneDNN.
func TestPeerNamesWithoutPkg(t *testing.T) {
	r := New()
	in := "BenchmarkOneDNN/dw3 \t 10 \t 1 ns/op \t 30.00 GFLOP/s\n" +
		"BenchmarkOneDNNAVX2/dw3 \t 10 \t 1 ns/op \t 20.00 GFLOP/s\n" +
		"BenchmarkXNNPACK/dw3 \t 10 \t 1 ns/op \t 10.00 GFLOP/s\n"
	if err := r.Parse(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"OneDNN": 30, "OneDNNAVX2": 20, "XNNPACK": 10} {
		if got, ok := r.Cells["dw3"][Column{Peer: true, Name: name}].Value(); !ok || got != want {
			t.Errorf("dw3 %s: %v, %v; want %v", name, got, ok, want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// BenchmarkFMAPeak/<isa> gives the measured peaks (medians over runs), not
// cells; a skipped ISA has no peak.
func TestPeaks(t *testing.T) {
	in := `pkg: github.com/convgen/convgen/bench/peak
BenchmarkFMAPeak/avx2   	    6326	     56523 ns/op	       111.3 GFLOP/s
--- SKIP: BenchmarkFMAPeak/avx512
pkg: github.com/convgen/convgen/bench/kernels
BenchmarkDw3/avx2 	 10	 1 ns/op	 40.00 GFLOP/s
pkg: github.com/convgen/convgen/bench/peak
BenchmarkFMAPeak/avx2-2 	    6326	     56523 ns/op	       109.0 GFLOP/s
BenchmarkFMAPeak/avx2   	    6326	     56523 ns/op	       112.0 GFLOP/s
`
	r := New()
	if err := r.Parse(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if p, ok := r.Peak("avx2"); !ok || p != 111.3 {
		t.Errorf("avx2 peak %v, %v; want 111.3 (the median of 3 runs)", p, ok)
	}
	if p, ok := r.Peak("avx512"); ok {
		t.Errorf("avx512 peak %v from a skipped benchmark", p)
	}
	if _, ok := r.Cells[PeakBenchmark]; ok || len(r.First) != 1 || r.Count != 1 {
		t.Errorf("the peak benchmark made cells: %v (rows %q, count %d)", r.Cells, r.First, r.Count)
	}
}
