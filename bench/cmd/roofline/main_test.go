package main

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convgen/convgen/bench/internal/results"
	"github.com/convgen/convgen/gen"
)

// spec has a strided depthwise row (input 112×112, output 56×56) and a
// dense row.
const spec = `{"package": "kernels",
 "layers": [
  {"name": "dw3_s2_c96_112", "cin": 96, "cout": 96, "k": 3, "groups": 96, "stride": 2, "pad": 1, "bias": false, "act": "none", "input": [112, 112]},
  {"name": "dense3_c64_56", "cin": 64, "cout": 64, "k": 3, "groups": 1, "stride": 1, "pad": 1, "bias": false, "act": "none", "input": [56, 56]}
 ]}`

// raw is make bench output: two passes, a row with an avx512 path and one
// without (its AVX2 result stands in for it), a failed peer.
const raw = `goos: linux
goarch: amd64
pkg: github.com/convgen/convgen/bench/kernels
cpu: Test CPU
BenchmarkDw3_s2_c96_112/avx512         	   15741	     76507 ns/op	        70.83 GFLOP/s
BenchmarkDw3_s2_c96_112/avx512_parallel         	   15555	     77562 ns/op	        69.87 GFLOP/s
BenchmarkDw3_s2_c96_112/avx2                    	   13081	     91747 ns/op	        59.06 GFLOP/s
BenchmarkDw3_s2_c96_112/purego                  	    1484	    834809 ns/op	         6.491 GFLOP/s
BenchmarkDw3_s2_c96_112/naive                   	     187	   6409916 ns/op	         0.8454 GFLOP/s
BenchmarkDense3_c64_56/avx2                    	   13081	     91747 ns/op	        120.0 GFLOP/s
BenchmarkDense3_c64_56/purego                  	    1484	    834809 ns/op	         6.5 GFLOP/s
ok  	github.com/convgen/convgen/bench/kernels	81.046s
pkg: github.com/convgen/convgen/bench/peers
BenchmarkOneDNN/dw3_s2_c96_112         	   16334	     73461 ns/op	        73.77 GFLOP/s
BenchmarkOneDNN/dense3_c64_56          	    1402	    854248 ns/op	       270.7 GFLOP/s
BenchmarkXNNPACK/dw3_s2_c96_112        	   10000	    113567 ns/op	        47.72 GFLOP/s
--- FAIL: BenchmarkXNNPACK/dense3_c64_56
FAIL	github.com/convgen/convgen/bench/peers	25.082s
pkg: github.com/convgen/convgen/bench/kernels
BenchmarkDw3_s2_c96_112/avx512         	   15741	     76507 ns/op	        72.00 GFLOP/s
BenchmarkDw3_s2_c96_112/avx2                    	   13081	     91747 ns/op	        60.00 GFLOP/s
BenchmarkDense3_c64_56/avx2                    	   13081	     91747 ns/op	        130.0 GFLOP/s
`

func TestIntensity(t *testing.T) {
	s, err := gen.ParseSpec("spec.json", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	got, order, err := intensities(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, " ") != "dw3_s2_c96_112 dense3_c64_56" {
		t.Errorf("order %q", order)
	}
	// By hand: FLOPs = 2·oh·ow·cout·(cin/groups)·kh·kw, bytes = 4·(h·w·cin
	// + cout·(cin/groups)·kh·kw + oh·ow·cout).
	for name, want := range map[string]float64{
		// 56·56 outputs: 2·3136·96·9 = 5,419,008 FLOPs over
		// 4·(112·112·96 + 96·9 + 3136·96) = 4·1,506,144 bytes.
		"dw3_s2_c96_112": 5419008.0 / 6024576.0,
		// 2·3136·64·64·9 = 231,211,008 FLOPs over
		// 4·(3136·64 + 64·64·9 + 3136·64) = 4·438,272 bytes.
		"dense3_c64_56": 231211008.0 / 1753088.0,
	} {
		if math.Abs(got[name]-want) > 1e-9*want {
			t.Errorf("%s: intensity %v, want %v", name, got[name], want)
		}
	}
}

func TestRender(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"spec.json": spec, "raw.txt": raw} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var progress strings.Builder
	c := config{
		spec: filepath.Join(dir, "spec.json"), raw: filepath.Join(dir, "raw.txt"),
		png: filepath.Join(dir, "docs", "roofline.png"), svg: filepath.Join(dir, "roofline.svg"),
		peak512: 280, peak2: 140, l2: 117, dram: 28,
		date:        time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
		progressOut: &progress,
	}
	if err := run(c); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(c.png)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != Width || b.Dy() != Height {
		t.Errorf("PNG is %dx%d, want %dx%d", b.Dx(), b.Dy(), Width, Height)
	}
	// The convgen points are drawn: pixels of their colour.
	want := styles[convgenISA].color
	wr, wg, wb, _ := want.RGBA()
	n := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r == wr && g == wg && b == wb {
				n++
			}
		}
	}
	if n < 50 {
		t.Errorf("%d pixels of the convgen colour, want the points drawn", n)
	}
	svg, err := os.ReadFile(c.svg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), "<svg") || !strings.Contains(string(svg), "2026-11-24") {
		t.Errorf("SVG without <svg or the date:\n%.300s", svg)
	}
	// Medians; dense3 has no avx512 result, so its AVX2 one stands in.
	for _, s := range []string{
		"dw3_s2_c96_112          0.90     71.4     59.5     73.8     47.7      6.5",
		"dense3_c64_56         131.89    125.0    125.0    270.7        —      6.5",
	} {
		if !strings.Contains(progress.String(), s) {
			t.Errorf("missing %q in:\n%s", s, progress.String())
		}
	}
}

// Results for no row of the spec are an error, not an empty chart.
func TestNoResults(t *testing.T) {
	dir := t.TempDir()
	c := config{spec: filepath.Join(dir, "spec.json"), raw: filepath.Join(dir, "raw.txt"), png: filepath.Join(dir, "x.png")}
	if err := os.WriteFile(c.spec, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.raw, []byte("pkg: x/kernels\nBenchmarkOther/avx2 1 1 ns/op 1.0 GFLOP/s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(c); err == nil || !strings.Contains(err.Error(), "no GFLOP/s results") {
		t.Errorf("err %v, want no GFLOP/s results", err)
	}
	if _, err := os.Stat(c.png); err == nil {
		t.Error("a PNG was written")
	}
}

// The peak flags default (0) to the peaks measured in the results, else to
// the fallbacks; a flag that is set wins.
func TestPeaks(t *testing.T) {
	measured := results.New()
	in := "pkg: github.com/convgen/convgen/bench/peak\n" +
		"BenchmarkFMAPeak/avx2 \t 10 \t 1 ns/op \t 111.30 GFLOP/s\n" +
		"BenchmarkFMAPeak/avx512 \t 10 \t 1 ns/op \t 110.60 GFLOP/s\n"
	if err := measured.Parse(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		res            *results.Results
		flag512, flag2 float64
		want512, want2 float64
		source         string
	}{
		{measured, 0, 0, 110.6, 111.3, "avx512: measured, avx2: measured"},
		{measured, 300, 0, 300, 111.3, "avx512: flag, avx2: measured"},
		{results.New(), 0, 150, fallbackPeak512, 150, "avx512: not measured, fallback, avx2: flag"},
	} {
		cfg := config{peak512: c.flag512, peak2: c.flag2}
		src := peaks(&cfg, c.res)
		if cfg.peak512 != c.want512 || cfg.peak2 != c.want2 || !strings.Contains(src, c.source) {
			t.Errorf("flags %v/%v: peaks %v/%v (%s), want %v/%v (%s)", c.flag512, c.flag2, cfg.peak512, cfg.peak2, src, c.want512, c.want2, c.source)
		}
	}
	// run reads them from the results file and says so.
	dir := t.TempDir()
	for name, data := range map[string]string{"spec.json": spec, "raw.txt": raw + in} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var progress strings.Builder
	c := config{spec: filepath.Join(dir, "spec.json"), raw: filepath.Join(dir, "raw.txt"), png: filepath.Join(dir, "r.png"),
		l2: 117, dram: 28, date: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), progressOut: &progress}
	if err := run(c); err != nil {
		t.Fatal(err)
	}
	if s := "FMA peaks: AVX-512 110.6, AVX2 111.3 GFLOP/s (avx512: measured, avx2: measured)"; !strings.Contains(progress.String(), s) {
		t.Errorf("missing %q in:\n%s", s, progress.String())
	}
}
