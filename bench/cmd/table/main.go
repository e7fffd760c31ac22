// Command table turns `go test -bench` output of the generated kernels
// package (bench/kernels) and the peers package (bench/peers) into one
// markdown table of GFLOP/s per benchmark row. It runs nothing itself.
//
//	go test -run '^$' -bench . ./kernels ./peers | go run ./cmd/table -spec spec.json
//
// Input is the files named on the command line, or stdin. With -count > 1
// each cell is the median of its runs.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func main() {
	peak := flag.Float64("peak", 117, "single-core FMA peak in GFLOP/s, for the % of peak column")
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
	var in []io.Reader
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "table:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = append(in, f)
	}
	if len(in) == 0 {
		in = append(in, os.Stdin)
	}
	r := newResults()
	for _, f := range in {
		if err := r.parse(f); err != nil {
			fmt.Fprintln(os.Stderr, "table:", err)
			os.Exit(2)
		}
	}
	if len(r.cells) == 0 {
		fmt.Fprintln(os.Stderr, "table: no GFLOP/s benchmark results in the input")
		os.Exit(1)
	}
	fmt.Print(r.markdown(options{order: order, peak: *peak, showParallel: *showParallel}))
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

// A column is a convgen kernel path (a sub-benchmark of the generated
// BenchmarkX: avx2, avx512, purego, naive, ...) or a peer (BenchmarkPeer/row).
type column struct {
	peer bool
	name string
}

// cell is what the input says about one row and column.
type cell struct {
	gflops  []float64 // one per -count
	failed  bool      // --- FAIL: the benchmark (a peer's reference check) failed
	skipped bool      // --- SKIP: the peer has no implementation for the shape
}

// results collects cells by raw key: the convgen type name (Dw3_s1_c144_56)
// or, for peers, the row name; rows are resolved when printing.
type results struct {
	cells map[string]map[column]*cell
	first []string // keys in order of first appearance
	count int      // the largest number of runs of any cell
	cpu   string
}

func newResults() *results { return &results{cells: map[string]map[column]*cell{}} }

// procSuffix is the -GOMAXPROCS suffix go test appends to benchmark names.
var procSuffix = regexp.MustCompile(`-\d+$`)

// peerNames are the peers' benchmark names, for input without pkg: lines.
var peerNames = map[string]bool{"OneDNN": true, "XNNPACK": true}

func (r *results) parse(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	peersPkg := false
	pending := "" // a benchmark name whose numbers are on a later line
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "pkg:" && len(f) > 1:
			peersPkg = strings.HasSuffix(f[1], "/peers")
		case f[0] == "cpu:":
			r.cpu = strings.TrimSpace(strings.TrimPrefix(line, "cpu:"))
		case f[0] == "---" && len(f) >= 3 && (f[1] == "FAIL:" || f[1] == "SKIP:"):
			if c := r.cell(f[2], peersPkg); c != nil {
				c.failed = c.failed || f[1] == "FAIL:"
				c.skipped = c.skipped || f[1] == "SKIP:"
			}
		case strings.HasPrefix(f[0], "Benchmark"):
			pending = ""
			if len(f) == 1 {
				pending = f[0] // output from the benchmark split its result line
				continue
			}
			r.result(f[0], f[1:], peersPkg)
		case pending != "":
			// Lines between the name and its numbers are the benchmark's own output.
			if r.result(pending, f, peersPkg) {
				pending = ""
			}
		}
	}
	return sc.Err()
}

// result records the GFLOP/s metric of a result line: "N ns/op X GFLOP/s".
// It reports whether f was a result line at all (it starts with N).
func (r *results) result(name string, f []string, peersPkg bool) bool {
	if _, err := strconv.Atoi(f[0]); err != nil {
		return false
	}
	for i := 2; i < len(f); i += 2 {
		if f[i] != "GFLOP/s" {
			continue
		}
		v, err := strconv.ParseFloat(f[i-1], 64)
		if err != nil {
			break
		}
		if c := r.cell(name, peersPkg); c != nil {
			c.gflops = append(c.gflops, v)
			r.count = max(r.count, len(c.gflops))
		}
		break
	}
	return true
}

// cell finds or makes the cell of a benchmark name. Top-level names (no
// sub-benchmark) are not cells.
func (r *results) cell(name string, peersPkg bool) *cell {
	name = procSuffix.ReplaceAllString(strings.TrimPrefix(name, "Benchmark"), "")
	top, sub, ok := strings.Cut(name, "/")
	if !ok || top == "" || sub == "" {
		return nil
	}
	key, col := top, column{name: sub}
	if peersPkg || peerNames[top] {
		key, col = sub, column{peer: true, name: top}
	}
	row := r.cells[key]
	if row == nil {
		row = map[column]*cell{}
		r.cells[key] = row
		r.first = append(r.first, key)
	}
	c := row[col]
	if c == nil {
		c = &cell{}
		row[col] = c
	}
	return c
}

// Fixed columns, in table order, and their headers; other names seen in
// the input get columns after them in their group.
var (
	isaCols   = []string{"avx2", "avx512"}
	goCols    = []string{"purego", "naive"}
	peerCols  = []string{"OneDNN", "XNNPACK"}
	colHeader = map[column]string{
		{name: "avx2"}: "convgen avx2", {name: "avx512"}: "convgen avx512",
		{name: "purego"}: "pure Go", {name: "naive"}: "naive",
		{peer: true, name: "OneDNN"}: "oneDNN", {peer: true, name: "XNNPACK"}: "XNNPACK",
	}
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
func (r *results) columns(showParallel bool) (isa, all []column, hidden int) {
	extraISA, extraGo, par, extraPeer := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, row := range r.cells {
		for c := range row {
			switch {
			case c.peer:
				if !slices.Contains(peerCols, c.name) {
					extraPeer[c.name] = true
				}
			case parallel(c.name):
				par[c.name] = true
			case goPath(c.name):
				if !slices.Contains(goCols, c.name) {
					extraGo[c.name] = true
				}
			case !slices.Contains(isaCols, c.name):
				extraISA[c.name] = true
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
		isa = append(isa, column{name: n})
	}
	all = slices.Clone(isa)
	names := append(slices.Clone(goCols), sorted(extraGo)...)
	if showParallel {
		names = append(names, sorted(par)...)
	} else {
		hidden = len(par)
	}
	for _, n := range names {
		all = append(all, column{name: n})
	}
	for _, n := range append(slices.Clone(peerCols), sorted(extraPeer)...) {
		all = append(all, column{peer: true, name: n})
	}
	return isa, all, hidden
}

func header(c column) string {
	if h, ok := colHeader[c]; ok {
		return h
	}
	if c.peer {
		return c.name
	}
	return "convgen " + c.name
}

// typeName is the convgen type of a row: the generated type is the
// layer name with its first letter upper-cased.
func typeName(row string) string {
	if row == "" {
		return row
	}
	return strings.ToUpper(row[:1]) + row[1:]
}

// rows returns the table rows and, per row, the merged cells of its convgen
// type and its peers. order (the spec's layer names) comes first; rows only
// in the input follow in the order they appeared.
func (r *results) rows(order []string) ([]string, map[string]map[column]*cell) {
	names := slices.Clone(order)
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	// Peer keys are row names; convgen keys are type names.
	byType := map[string]string{}
	for _, key := range r.first {
		for c := range r.cells[key] {
			if c.peer && !known[key] {
				known[key] = true
				names = append(names, key)
			}
		}
	}
	for n := range known {
		byType[typeName(n)] = n
	}
	merged := map[string]map[column]*cell{}
	for _, key := range r.first {
		for c, v := range r.cells[key] {
			row := key
			if !c.peer {
				if n, ok := byType[key]; ok {
					row = n
				} else {
					// Not in the spec nor the peers: lower-case the
					// type name's first letter back.
					row = strings.ToLower(key[:1]) + key[1:]
				}
			}
			if !known[row] {
				known[row] = true
				names = append(names, row)
			}
			if merged[row] == nil {
				merged[row] = map[column]*cell{}
			}
			merged[row][c] = v
		}
	}
	return names, merged
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// value is a cell's GFLOP/s, ok only for a measured cell that did not fail.
func (c *cell) value() (float64, bool) {
	if c == nil || c.failed || len(c.gflops) == 0 {
		return 0, false
	}
	return median(c.gflops), true
}

func (c *cell) String() string {
	switch {
	case c == nil:
		return "—"
	case c.failed:
		return "wrong"
	case len(c.gflops) > 0:
		return fmt.Sprintf("%.1f", median(c.gflops))
	case c.skipped:
		return "n/a"
	}
	return "—"
}

// options are the flags that shape the table.
type options struct {
	order        []string // row order: the spec's layer names
	peak         float64  // FMA peak, GFLOP/s
	showParallel bool     // show the ForwardParallel (*_parallel) columns
}

func (r *results) markdown(o options) string {
	order, peak := o.order, o.peak
	isa, cols, hidden := r.columns(o.showParallel)
	names, cells := r.rows(order)
	var b strings.Builder
	b.WriteString("| row |")
	for _, c := range cols {
		b.WriteString(" " + header(c) + " |")
	}
	b.WriteString(" convgen/best peer | % of FMA peak |\n| --- |")
	for range cols {
		b.WriteString(" ---: |")
	}
	b.WriteString(" ---: | ---: |\n")
	for _, name := range names {
		row := cells[name]
		b.WriteString("| " + name + " |")
		for _, c := range cols {
			b.WriteString(" " + row[c].String() + " |")
		}
		// Best convgen ISA path (not pure Go or naive) over the best peer.
		best, bestPeer := 0.0, 0.0
		for _, c := range isa {
			if v, ok := row[c].value(); ok {
				best = max(best, v)
			}
		}
		for c, v := range row {
			if x, ok := v.value(); ok && c.peer {
				bestPeer = max(bestPeer, x)
			}
		}
		ratio, pct := "—", "—"
		if best > 0 && bestPeer > 0 {
			ratio = fmt.Sprintf("%.2f×", best/bestPeer)
		}
		if best > 0 && peak > 0 {
			pct = fmt.Sprintf("%.0f%%", 100*best/peak)
		}
		b.WriteString(" " + ratio + " | " + pct + " |\n")
	}
	runs := "one run"
	if r.count > 1 {
		runs = fmt.Sprintf("median of up to %d runs", r.count)
	}
	fmt.Fprintf(&b, "\nGFLOP/s, %s per cell; FMA peak %.1f GFLOP/s (-peak)", runs, peak)
	if r.cpu != "" {
		fmt.Fprintf(&b, "; cpu: %s", r.cpu)
	}
	b.WriteString(". n/a: the peer has no implementation for the shape; wrong: the benchmark failed (a peer: its reference check), not timed; —: not measured.")
	if hidden > 0 {
		fmt.Fprintf(&b, " %d ForwardParallel column(s) (*_parallel) not shown: -parallel.", hidden)
	}
	b.WriteString("\n")
	return b.String()
}
