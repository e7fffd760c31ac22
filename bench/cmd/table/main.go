// Command table turns `go test -bench` output of the generated kernels
// package (bench/kernels) and the peers package (bench/peers) into one
// markdown table of GFLOP/s per benchmark row. It runs nothing itself.
//
//	GOMAXPROCS=1 go test -run '^$' -bench FMAPeak ./peak >raw.txt
//	go test -run '^$' -bench . ./kernels ./peers >>raw.txt
//	ONEDNN_MAX_CPU_ISA=AVX2 go test -run '^$' -bench '^BenchmarkOneDNNAVX2$' ./peers >>raw.txt
//	go run ./cmd/table -spec spec.json raw.txt
//
// The second run gives the "oneDNN AVX2" column (oneDNN limited to AVX2,
// which it allows once per process) and with it the "convgen AVX2 / best
// AVX2 peer" ratio. Input is the files named on the command line, or stdin.
// With -count > 1 each cell is the median of its runs.
//
// The "% of FMA peak" column divides each row's best convgen result by the
// FMA peak of that result's instruction set as measured in the input
// (BenchmarkFMAPeak/avx2 and /avx512 of bench/peak, which make bench runs
// on one thread): the AVX-512 peak when the best path is avx512, else the
// AVX2 peak. -peak N divides every row by N instead.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/convgen/convgen/bench/internal/results"
)

func main() {
	peak := flag.Float64("peak", 0, "single-core FMA peak in GFLOP/s for the % of peak column, every row; 0: the peak measured in the input (BenchmarkFMAPeak) of the ISA of the row's best convgen path")
	spec := flag.String("spec", "", "convgen spec whose layer order gives the row order (optional)")
	showParallel := flag.Bool("parallel", false, "also show the ForwardParallel (*_parallel) kernel paths")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: table [-peak GFLOP/s] [-spec spec.json] [-parallel] [go-test-bench-output...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	var order []string
	if *spec != "" {
		var err error
		if order, err = specNames(*spec); err != nil {
			fmt.Fprintln(os.Stderr, "table:", err)
			os.Exit(2)
		}
	}
	r, err := results.ParseFiles(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "table:", err)
		os.Exit(2)
	}
	if len(r.Cells) == 0 {
		fmt.Fprintln(os.Stderr, "table: no GFLOP/s benchmark results in the input")
		os.Exit(1)
	}
	fmt.Print(markdown(r, options{order: order, peak: *peak, showParallel: *showParallel}))
}

// specNames reads the layer names of a convgen spec.
func specNames(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var spec struct {
		Layers []struct {
			Name string `json:"name"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var names []string
	for _, l := range spec.Layers {
		names = append(names, l.Name)
	}
	return names, nil
}

// column and cell are the parsed results' columns and cells.
type (
	column = results.Column
	cell   = results.Cell
)

// Fixed columns, in table order, and their headers; other names seen in
// the input get columns after them in their group.
var (
	isaCols   = []string{"avx2", "avx512"}
	goCols    = []string{"purego", "naive"}
	peerCols  = []string{"OneDNN", "OneDNNAVX2", "XNNPACK"}
	colHeader = map[column]string{
		{Name: "avx2"}: "convgen avx2", {Name: "avx512"}: "convgen avx512",
		{Name: "purego"}: "pure Go", {Name: "naive"}: "naive",
		{Peer: true, Name: "OneDNN"}: "oneDNN", {Peer: true, Name: "OneDNNAVX2"}: "oneDNN AVX2",
		{Peer: true, Name: "XNNPACK"}: "XNNPACK",
	}
)

// avx2Col is convgen's AVX2 path and avx2Peers the peers known to run only
// AVX2 code (oneDNN under ONEDNN_MAX_CPU_ISA=AVX2), for the "convgen AVX2 /
// best AVX2 peer" ratio. XNNPACK is not among them: it has no switch to keep
// it off AVX-512.
var (
	avx2Col   = column{Name: "avx2"}
	avx2Peers = []column{{Peer: true, Name: "OneDNNAVX2"}}
)

// parallel reports a ForwardParallel path (avx2_parallel, ...): on one
// thread it repeats its serial path, so it is shown only on request and never
// counts as the best convgen result.
func parallel(name string) bool { return strings.HasSuffix(name, "_parallel") }

// goPath reports a kernel path that is not an instruction set: the pure-Go
// kernels and the naive loop.
func goPath(name string) bool { return strings.HasPrefix(name, "purego") || name == "naive" }

// columns returns the convgen ISA columns (avx2, avx512, then any other
// path such as a future avx512vnni) and all columns in table order: the ISAs,
// pure Go, naive, other Go paths, the parallel paths when showParallel, the
// peers. hidden counts parallel columns left out.
func columns(r *results.Results, showParallel bool) (isa, all []column, hidden int) {
	extraISA, extraGo, par, extraPeer := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, row := range r.Cells {
		for c := range row {
			switch {
			case c.Peer:
				if !slices.Contains(peerCols, c.Name) {
					extraPeer[c.Name] = true
				}
			case parallel(c.Name):
				par[c.Name] = true
			case goPath(c.Name):
				if !slices.Contains(goCols, c.Name) {
					extraGo[c.Name] = true
				}
			case !slices.Contains(isaCols, c.Name):
				extraISA[c.Name] = true
			}
		}
	}
	sorted := func(m map[string]bool) []string {
		var s []string
		for k := range m {
			s = append(s, k)
		}
		sort.Strings(s)
		return s
	}
	for _, n := range append(slices.Clone(isaCols), sorted(extraISA)...) {
		isa = append(isa, column{Name: n})
	}
	all = slices.Clone(isa)
	names := append(slices.Clone(goCols), sorted(extraGo)...)
	if showParallel {
		names = append(names, sorted(par)...)
	} else {
		hidden = len(par)
	}
	for _, n := range names {
		all = append(all, column{Name: n})
	}
	for _, n := range append(slices.Clone(peerCols), sorted(extraPeer)...) {
		all = append(all, column{Peer: true, Name: n})
	}
	return isa, all, hidden
}

func header(c column) string {
	if h, ok := colHeader[c]; ok {
		return h
	}
	if c.Peer {
		return c.Name
	}
	return "convgen " + c.Name
}

// text is a cell as the table shows it.
func text(c *cell) string {
	switch {
	case c == nil:
		return "—"
	case c.Failed:
		return "wrong"
	case len(c.GFLOPS) > 0:
		return fmt.Sprintf("%.1f", results.Median(c.GFLOPS))
	case c.Skipped:
		return "n/a"
	}
	return "—"
}

// options are the flags that shape the table.
type options struct {
	order        []string // row order: the spec's layer names
	peak         float64  // FMA peak, GFLOP/s, for every row; 0: measured, per ISA
	showParallel bool     // show the ForwardParallel (*_parallel) columns
}

// peakISA is the instruction set whose measured FMA peak a convgen path
// is compared with: avx512 for the AVX-512 paths, else avx2.
func peakISA(path string) string {
	if strings.HasPrefix(path, "avx512") {
		return "avx512"
	}
	return "avx2"
}

// peakNames are the ISAs of BenchmarkFMAPeak as the footer names them.
var peakNames = []struct{ isa, name string }{{"avx2", "AVX2"}, {"avx512", "AVX-512"}}

// peakNote is the footer's account of the FMA peaks: the measured ones
// (both ISAs, "not measured" for one the input lacks) and which the last
// column divides by.
func peakNote(r *results.Results, peak float64) string {
	var measured []string
	for _, p := range peakNames {
		if v, ok := r.Peak(p.isa); ok {
			measured = append(measured, fmt.Sprintf("%s %.1f GFLOP/s", p.name, v))
		} else {
			measured = append(measured, p.name+" not measured")
		}
	}
	m := "measured FMA peak of one thread (BenchmarkFMAPeak): " + strings.Join(measured, ", ")
	switch {
	case peak > 0 && len(r.Peaks) == 0:
		return fmt.Sprintf("%% of FMA peak: over %.1f GFLOP/s (-peak) for every row", peak)
	case peak > 0:
		return fmt.Sprintf("%% of FMA peak: over %.1f GFLOP/s (-peak) for every row; %s", peak, m)
	case len(r.Peaks) == 0:
		return "% of FMA peak: — (the input has no BenchmarkFMAPeak result; -peak sets a peak)"
	}
	return "% of FMA peak: the best convgen path over the measured peak of its ISA (avx512: AVX-512, else AVX2); " + m
}

// markdown is the table of r.
func markdown(r *results.Results, o options) string {
	order, peak := o.order, o.peak
	isa, cols, hidden := columns(r, o.showParallel)
	names, cells := r.Rows(order)
	var b strings.Builder
	b.WriteString("| row |")
	for _, c := range cols {
		b.WriteString(" " + header(c) + " |")
	}
	b.WriteString(" convgen/best peer | convgen AVX2 / best AVX2 peer | % of FMA peak |\n| --- |")
	for range cols {
		b.WriteString(" ---: |")
	}
	b.WriteString(" ---: | ---: | ---: |\n")
	for _, name := range names {
		row := cells[name]
		b.WriteString("| " + name + " |")
		for _, c := range cols {
			b.WriteString(" " + text(row[c]) + " |")
		}
		// Best convgen ISA path (not pure Go or naive) over the best peer,
		// any peer column (the AVX2-limited oneDNN included).
		best, bestPeer, bestPath := 0.0, 0.0, ""
		for _, c := range isa {
			if v, ok := row[c].Value(); ok && v > best {
				best, bestPath = v, c.Name
			}
		}
		for c, v := range row {
			if x, ok := v.Value(); ok && c.Peer {
				bestPeer = max(bestPeer, x)
			}
		}
		// convgen's AVX2 path over the best peer restricted to AVX2.
		avx2, bestAVX2Peer := 0.0, 0.0
		if v, ok := row[avx2Col].Value(); ok {
			avx2 = v
		}
		for _, c := range avx2Peers {
			if v, ok := row[c].Value(); ok {
				bestAVX2Peer = max(bestAVX2Peer, v)
			}
		}
		ratio, ratioAVX2, pct := "—", "—", "—"
		if best > 0 && bestPeer > 0 {
			ratio = fmt.Sprintf("%.2f×", best/bestPeer)
		}
		if avx2 > 0 && bestAVX2Peer > 0 {
			ratioAVX2 = fmt.Sprintf("%.2f×", avx2/bestAVX2Peer)
		}
		rowPeak := peak
		if rowPeak <= 0 {
			rowPeak, _ = r.Peak(peakISA(bestPath))
		}
		if best > 0 && rowPeak > 0 {
			pct = fmt.Sprintf("%.0f%%", 100*best/rowPeak)
		}
		b.WriteString(" " + ratio + " | " + ratioAVX2 + " | " + pct + " |\n")
	}
	runs := "one run"
	if r.Count > 1 {
		runs = fmt.Sprintf("median of up to %d runs", r.Count)
	}
	fmt.Fprintf(&b, "\nGFLOP/s, %s per cell; %s", runs, peakNote(r, peak))
	if r.CPU != "" {
		fmt.Fprintf(&b, "; cpu: %s", r.CPU)
	}
	b.WriteString(". oneDNN AVX2: oneDNN limited to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2, a go test run of its own). n/a: the peer has no implementation for the shape; wrong: the benchmark failed (a peer: its reference check), not timed; —: not measured.")
	if hidden > 0 {
		fmt.Fprintf(&b, " %d ForwardParallel column(s) (*_parallel) not shown: -parallel.", hidden)
	}
	b.WriteString("\n")
	return b.String()
}
