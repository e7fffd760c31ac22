package main

import (
	"strings"
	"testing"

	"github.com/convgen/convgen/bench/internal/results"
)

// canned is go test -bench output of both packages as `make bench` makes
// it: -count 3 (medians), GOMAXPROCS suffixes on some names, an avx512
// path on one row only, ForwardParallel paths (hidden by default, never the
// best convgen), a failed and a skipped peer, a benchmark whose result
// line was split by output, the AVX2-limited oneDNN: skipped in the
// first run, then its own run (ONEDNN_MAX_CPU_ISA=AVX2) with a skipped row,
// and the FMA peaks of bench/peak, three runs of each ISA.
const canned = `goos: linux
goarch: amd64
pkg: github.com/convgen/convgen/bench/kernels
cpu: AMD EPYC
BenchmarkDw3_s1_c144_56/avx2         	    1000	    100000 ns/op	        40.00 GFLOP/s
BenchmarkDw3_s1_c144_56/avx2         	    1000	    100000 ns/op	        44.00 GFLOP/s
BenchmarkDw3_s1_c144_56/avx2         	    1000	    100000 ns/op	        42.00 GFLOP/s
BenchmarkDw3_s1_c144_56/avx512       	    1000	    100000 ns/op	        60.00 GFLOP/s
BenchmarkDw3_s1_c144_56/avx512       	    1000	    100000 ns/op	        61.00 GFLOP/s
BenchmarkDw3_s1_c144_56/avx2_parallel	    1000	    100000 ns/op	        99.00 GFLOP/s
BenchmarkDw3_s1_c144_56/purego       	    1000	    100000 ns/op	         4.10 GFLOP/s
BenchmarkDw3_s1_c144_56/purego_parallel	    1000	    100000 ns/op	        98.00 GFLOP/s
BenchmarkDw3_s1_c144_56/naive        	    1000	    100000 ns/op	         0.9258 GFLOP/s
BenchmarkDense3_c64_56/avx2-2        	     100	    100000 ns/op	        90.04 GFLOP/s
BenchmarkDense3_c64_56/purego-2
some stray output
     100	   3000000 ns/op	        12.34 GFLOP/s
BenchmarkDense3_c64_56/naive-2       	      10	   3000000 ns/op	         1.00 GFLOP/s
PASS
ok  	github.com/convgen/convgen/bench/kernels	30.1s
goos: linux
goarch: amd64
pkg: github.com/convgen/convgen/bench/peers
cpu: AMD EPYC
BenchmarkOneDNN/dw3_s1_c144_56       	    1000	    100000 ns/op	        30.00 GFLOP/s
BenchmarkOneDNN/dense3_c64_56-2      	    1000	    100000 ns/op	       270.00 GFLOP/s
BenchmarkXNNPACK/dw3_s1_c144_56      	    1000	    100000 ns/op	        50.00 GFLOP/s
--- FAIL: BenchmarkXNNPACK/dense3_c64_56
    peers_test.go:99: wrong result, not timed: ...
--- SKIP: BenchmarkOneDNNAVX2
    peers_test.go:141: oneDNN is not limited to AVX2 in this process: set ONEDNN_MAX_CPU_ISA=AVX2 (make bench runs it in a go test of its own)
--- SKIP: BenchmarkXNNPACK/gc1_g3_shuffle
    peers_test.go:97: XNNPACK: unsupported: ...
--- FAIL: BenchmarkXNNPACK
FAIL
exit status 1
FAIL	github.com/convgen/convgen/bench/peers	12.0s
goos: linux
goarch: amd64
pkg: github.com/convgen/convgen/bench/peers
cpu: AMD EPYC
BenchmarkOneDNNAVX2/dw3_s1_c144_56   	    1000	    100000 ns/op	        21.00 GFLOP/s
BenchmarkOneDNNAVX2/dw3_s1_c144_56   	    1000	    100000 ns/op	        19.00 GFLOP/s
BenchmarkOneDNNAVX2/dw3_s1_c144_56   	    1000	    100000 ns/op	        20.00 GFLOP/s
--- SKIP: BenchmarkOneDNNAVX2/gc1_g3_shuffle
    peers_test.go:97: oneDNN: unsupported: ...
BenchmarkOneDNNAVX2/dense3_c64_56-2  	    1000	    100000 ns/op	       120.00 GFLOP/s
PASS
ok  	github.com/convgen/convgen/bench/peers	4.0s
goos: linux
goarch: amd64
pkg: github.com/convgen/convgen/bench/peak
cpu: AMD EPYC
BenchmarkFMAPeak/avx2         	    6326	     56523 ns/op	       151.0 GFLOP/s
BenchmarkFMAPeak/avx512       	    2462	    151647 ns/op	       121.0 GFLOP/s
BenchmarkFMAPeak/avx2         	    6326	     56523 ns/op	       149.0 GFLOP/s
BenchmarkFMAPeak/avx512       	    2462	    151647 ns/op	       125.0 GFLOP/s
BenchmarkFMAPeak/avx2-2       	    6326	     56523 ns/op	       150.0 GFLOP/s
BenchmarkFMAPeak/avx512-2     	    2462	    151647 ns/op	       120.0 GFLOP/s
PASS
ok  	github.com/convgen/convgen/bench/peak	2.0s
`

func TestMarkdown(t *testing.T) {
	r := results.New()
	if err := r.Parse(strings.NewReader(canned)); err != nil {
		t.Fatal(err)
	}
	got := markdown(r, options{order: []string{"dw3_s1_c144_56", "gc1_g3_shuffle", "dense3_c64_56"}, peak: 100})
	// The AVX2 ratio is convgen avx2 over oneDNN AVX2 alone: XNNPACK is
	// faster on dw3_s1_c144_56 but not limited to AVX2.
	want := `| row | convgen avx2 | convgen avx512 | pure Go | naive | oneDNN | oneDNN AVX2 | XNNPACK | convgen/best peer | convgen AVX2 / best AVX2 peer | % of FMA peak |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| dw3_s1_c144_56 | 42.0 | 60.5 | 4.1 | 0.9 | 30.0 | 20.0 | 50.0 | 1.21× | 2.10× | 60% |
| gc1_g3_shuffle | — | — | — | — | — | n/a | n/a | — | — | — |
| dense3_c64_56 | 90.0 | — | 12.3 | 1.0 | 270.0 | 120.0 | wrong | 0.33× | 0.75× | 90% |

GFLOP/s, median of up to 3 runs per cell; % of FMA peak: over 100.0 GFLOP/s (-peak) for every row; measured FMA peak of one thread (BenchmarkFMAPeak): AVX2 150.0 GFLOP/s, AVX-512 121.0 GFLOP/s; cpu: AMD EPYC. oneDNN AVX2: oneDNN limited to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2, a go test run of its own). n/a: the peer has no implementation for the shape; wrong: the benchmark failed (a peer: its reference check), not timed; —: not measured. 2 ForwardParallel column(s) (*_parallel) not shown: -parallel.
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// Without -peak each row's best convgen path is over the measured peak of
	// its ISA (medians): dw3's avx512 60.5 over 121, dense3's avx2 90 over 150.
	got = markdown(r, options{order: []string{"dw3_s1_c144_56", "gc1_g3_shuffle", "dense3_c64_56"}})
	for _, s := range []string{
		"| dw3_s1_c144_56 | 42.0 | 60.5 | 4.1 | 0.9 | 30.0 | 20.0 | 50.0 | 1.21× | 2.10× | 50% |",
		"| gc1_g3_shuffle | — | — | — | — | — | n/a | n/a | — | — | — |",
		"| dense3_c64_56 | 90.0 | — | 12.3 | 1.0 | 270.0 | 120.0 | wrong | 0.33× | 0.75× | 60% |",
		"GFLOP/s, median of up to 3 runs per cell; % of FMA peak: the best convgen path over the measured peak of its ISA (avx512: AVX-512, else AVX2); measured FMA peak of one thread (BenchmarkFMAPeak): AVX2 150.0 GFLOP/s, AVX-512 121.0 GFLOP/s; cpu: AMD EPYC.",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("measured peaks: missing %q in:\n%s", s, got)
		}
	}
	// The peak benchmark is not a row.
	if strings.Contains(got, "FMAPeak |") || strings.Contains(got, "| fMAPeak") {
		t.Errorf("the peak benchmark became a row:\n%s", got)
	}
	// -parallel shows them after the Go paths; the ratio still uses avx512.
	got = markdown(r, options{order: []string{"dw3_s1_c144_56"}, peak: 100, showParallel: true})
	for _, s := range []string{
		"| row | convgen avx2 | convgen avx512 | pure Go | naive | convgen avx2_parallel | convgen purego_parallel | oneDNN | oneDNN AVX2 | XNNPACK | convgen/best peer | convgen AVX2 / best AVX2 peer | % of FMA peak |",
		"| dw3_s1_c144_56 | 42.0 | 60.5 | 4.1 | 0.9 | 99.0 | 98.0 | 30.0 | 20.0 | 50.0 | 1.21× | 2.10× | 60% |",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("missing %q in:\n%s", s, got)
		}
	}
}

// Without a spec, rows come in input order and extra kernel paths and peers
// get columns of their own.
func TestExtraColumns(t *testing.T) {
	in := `pkg: example/kernels
BenchmarkConv1/avx512vnni 	 10	 1 ns/op	 7.00 GFLOP/s
pkg: example/peers
BenchmarkOther/conv1 	 10	 1 ns/op	 3.50 GFLOP/s
`
	r := results.New()
	if err := r.Parse(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	got := markdown(r, options{peak: 117})
	for _, s := range []string{
		"| row | convgen avx2 | convgen avx512 | convgen avx512vnni | pure Go | naive | oneDNN | oneDNN AVX2 | XNNPACK | Other | convgen/best peer | convgen AVX2 / best AVX2 peer | % of FMA peak |",
		"| conv1 | — | — | 7.0 | — | — | — | — | — | 3.5 | 2.00× | — | 6% |",
		"one run per cell; % of FMA peak: over 117.0 GFLOP/s (-peak) for every row. oneDNN AVX2",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("missing %q in:\n%s", s, got)
		}
	}
	// No -peak and no measured peak: no percentage.
	got = markdown(r, options{})
	for _, s := range []string{
		"| conv1 | — | — | 7.0 | — | — | — | — | — | 3.5 | 2.00× | — | — |",
		"one run per cell; % of FMA peak: — (the input has no BenchmarkFMAPeak result; -peak sets a peak).",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("no peak: missing %q in:\n%s", s, got)
		}
	}
	// An avx512-prefixed path counts against the AVX-512 peak: measured
	// for AVX2 only, the row has no percentage; with both, 7 of 14.
	if err := r.Parse(strings.NewReader("pkg: example/peak\nBenchmarkFMAPeak/avx2 \t 10 \t 1 ns/op \t 20.00 GFLOP/s\n--- SKIP: BenchmarkFMAPeak/avx512\n")); err != nil {
		t.Fatal(err)
	}
	got = markdown(r, options{})
	for _, s := range []string{
		"| conv1 | — | — | 7.0 | — | — | — | — | — | 3.5 | 2.00× | — | — |",
		"(BenchmarkFMAPeak): AVX2 20.0 GFLOP/s, AVX-512 not measured.",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("AVX2 peak only: missing %q in:\n%s", s, got)
		}
	}
	if err := r.Parse(strings.NewReader("BenchmarkFMAPeak/avx512 \t 10 \t 1 ns/op \t 14.00 GFLOP/s\n")); err != nil {
		t.Fatal(err)
	}
	if got = markdown(r, options{}); !strings.Contains(got, "| conv1 | — | — | 7.0 | — | — | — | — | — | 3.5 | 2.00× | — | 50% |") {
		t.Errorf("both peaks: conv1 not at 50%% of the AVX-512 peak:\n%s", got)
	}
	// An explicit -peak still wins over the measured ones.
	if got = markdown(r, options{peak: 70}); !strings.Contains(got, "| 2.00× | — | 10% |") || !strings.Contains(got, "over 70.0 GFLOP/s (-peak) for every row; measured FMA peak of one thread (BenchmarkFMAPeak): AVX2 20.0 GFLOP/s, AVX-512 14.0 GFLOP/s.") {
		t.Errorf("-peak 70 with measured peaks:\n%s", got)
	}
}

// The AVX2 ratio needs both convgen's avx2 path and a measured oneDNN AVX2
// cell (a failed one does not count); the AVX2-limited oneDNN is a peer like
// any other for convgen/best peer, so it counts there when it is the fastest.
func TestAVX2Ratio(t *testing.T) {
	in := `pkg: github.com/convgen/convgen/bench/kernels
BenchmarkA/avx2 	 10	 1 ns/op	 10.00 GFLOP/s
BenchmarkA/avx512 	 10	 1 ns/op	 30.00 GFLOP/s
BenchmarkB/avx2 	 10	 1 ns/op	 12.00 GFLOP/s
BenchmarkC/purego 	 10	 1 ns/op	 2.00 GFLOP/s
pkg: github.com/convgen/convgen/bench/peers
BenchmarkOneDNN/a 	 10	 1 ns/op	 40.00 GFLOP/s
BenchmarkXNNPACK/a 	 10	 1 ns/op	 5.00 GFLOP/s
BenchmarkOneDNN/b 	 10	 1 ns/op	 10.00 GFLOP/s
pkg: github.com/convgen/convgen/bench/peers
--- FAIL: BenchmarkOneDNNAVX2/a
    peers_test.go:99: wrong result, not timed: ...
BenchmarkOneDNNAVX2/b 	 10	 1 ns/op	 15.00 GFLOP/s
BenchmarkOneDNNAVX2/c 	 10	 1 ns/op	 8.00 GFLOP/s
`
	r := results.New()
	if err := r.Parse(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	got := markdown(r, options{order: []string{"a", "b", "c"}, peak: 100})
	for _, s := range []string{
		"| a | 10.0 | 30.0 | — | — | 40.0 | wrong | 5.0 | 0.75× | — | 30% |",
		"| b | 12.0 | — | — | — | 10.0 | 15.0 | — | 0.80× | 0.80× | 12% |",
		"| c | — | — | 2.0 | — | — | 8.0 | — | — | — | — |",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("missing %q in:\n%s", s, got)
		}
	}
}
