package main

import (
	"strings"
	"testing"

	"github.com/convgen/convgen/bench/internal/results"
)

// canned is go test -bench output of both packages as `make bench` makes
// it: -count 3 (medians), GOMAXPROCS suffixes on some names, an avx512
// path on one row only, ForwardParallel paths (hidden by default, never the
// best convgen), a failed and a skipped peer, and a benchmark whose result
// line was split by output.
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
--- SKIP: BenchmarkXNNPACK/gc1_g3_shuffle
    peers_test.go:97: XNNPACK: unsupported: ...
--- FAIL: BenchmarkXNNPACK
FAIL
exit status 1
FAIL	github.com/convgen/convgen/bench/peers	12.0s
`

func TestMarkdown(t *testing.T) {
	r := results.New()
	if err := r.Parse(strings.NewReader(canned)); err != nil {
		t.Fatal(err)
	}
	got := markdown(r, options{order: []string{"dw3_s1_c144_56", "gc1_g3_shuffle", "dense3_c64_56"}, peak: 100})
	want := `| row | convgen avx2 | convgen avx512 | pure Go | naive | oneDNN | XNNPACK | convgen/best peer | % of FMA peak |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| dw3_s1_c144_56 | 42.0 | 60.5 | 4.1 | 0.9 | 30.0 | 50.0 | 1.21× | 60% |
| gc1_g3_shuffle | — | — | — | — | — | n/a | — | — |
| dense3_c64_56 | 90.0 | — | 12.3 | 1.0 | 270.0 | wrong | 0.33× | 90% |

GFLOP/s, median of up to 3 runs per cell; FMA peak 100.0 GFLOP/s (-peak); cpu: AMD EPYC. n/a: the peer has no implementation for the shape; wrong: the benchmark failed (a peer: its reference check), not timed; —: not measured. 2 ForwardParallel column(s) (*_parallel) not shown: -parallel.
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// -parallel shows them after the Go paths; the ratio still uses avx512.
	got = markdown(r, options{order: []string{"dw3_s1_c144_56"}, peak: 100, showParallel: true})
	for _, s := range []string{
		"| row | convgen avx2 | convgen avx512 | pure Go | naive | convgen avx2_parallel | convgen purego_parallel | oneDNN | XNNPACK | convgen/best peer | % of FMA peak |",
		"| dw3_s1_c144_56 | 42.0 | 60.5 | 4.1 | 0.9 | 99.0 | 98.0 | 30.0 | 50.0 | 1.21× | 60% |",
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
		"| row | convgen avx2 | convgen avx512 | convgen avx512vnni | pure Go | naive | oneDNN | XNNPACK | Other | convgen/best peer | % of FMA peak |",
		"| conv1 | — | — | 7.0 | — | — | — | — | 3.5 | 2.00× | 6% |",
		"one run per cell; FMA peak 117.0 GFLOP/s",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("missing %q in:\n%s", s, got)
		}
	}
}
