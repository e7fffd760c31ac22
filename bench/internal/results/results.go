// Package results parses `go test -bench` output of the bench module's
// generated kernels package (bench/kernels) and its peers package
// (bench/peers) into GFLOP/s cells per benchmark row and column, and the
// measured FMA peaks of the peak package (bench/peak, BenchmarkFMAPeak/<isa>).
// It is shared by cmd/table, cmd/captable and cmd/roofline.
package results

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// A Column is a convgen kernel path (a sub-benchmark of the generated
// BenchmarkX: avx2, avx512, purego, naive, ...) or a peer (BenchmarkPeer/row,
// Name is the peer: OneDNN, OneDNNAVX2 (oneDNN limited to AVX2), XNNPACK, ...).
type Column struct {
	Peer bool
	Name string
}

// Cell is what the input says about one row and column.
type Cell struct {
	GFLOPS  []float64 // one per run
	Failed  bool      // --- FAIL: the benchmark (a peer's reference check) failed
	Skipped bool      // --- SKIP: the peer has no implementation for the shape
}

// Value is a cell's GFLOP/s, the median of its runs, ok only for a measured
// cell that did not fail.
func (c *Cell) Value() (float64, bool) {
	if c == nil || c.Failed || len(c.GFLOPS) == 0 {
		return 0, false
	}
	return Median(c.GFLOPS), true
}

// Results collects cells by raw key: the convgen type name (Dw3_s1_c144_56)
// or, for peers, the row name; Rows resolves them to row names.
type Results struct {
	Cells map[string]map[Column]*Cell
	First []string // keys in order of first appearance
	Count int      // the largest number of runs of any cell
	CPU   string   // the last "cpu:" line
	// Peaks are the GFLOP/s of BenchmarkFMAPeak/<isa> (avx2, avx512), one
	// per run; they are not cells. Peak gives their median.
	Peaks map[string][]float64
}

// New returns empty Results.
func New() *Results {
	return &Results{Cells: map[string]map[Column]*Cell{}, Peaks: map[string][]float64{}}
}

// PeakBenchmark is the top-level name of the FMA peak benchmark (bench/peak).
const PeakBenchmark = "FMAPeak"

// Peak is the measured FMA peak of isa (avx2, avx512) in GFLOP/s, the
// median of its runs; ok is false when the input has none.
func (r *Results) Peak(isa string) (float64, bool) {
	v := r.Peaks[isa]
	if len(v) == 0 {
		return 0, false
	}
	return Median(v), true
}

// procSuffix is the -GOMAXPROCS suffix go test appends to benchmark names.
var procSuffix = regexp.MustCompile(`-\d+$`)

// peerNames are the peers' benchmark names, for input without pkg: lines.
var peerNames = map[string]bool{"OneDNN": true, "OneDNNAVX2": true, "XNNPACK": true}

// ParseFiles parses the `go test -bench` output in the named files, or on
// stdin when there are none.
func ParseFiles(names []string) (*Results, error) {
	r := New()
	if len(names) == 0 {
		return r, r.Parse(os.Stdin)
	}
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		err = r.Parse(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return r, nil
}

// Parse adds the results in one `go test -bench` output. Runs of the same
// benchmark, in one input or several, are collected in one cell.
func (r *Results) Parse(in io.Reader) error {
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
			r.CPU = strings.TrimSpace(strings.TrimPrefix(line, "cpu:"))
		case f[0] == "---" && len(f) >= 3 && (f[1] == "FAIL:" || f[1] == "SKIP:"):
			if c := r.cell(f[2], peersPkg); c != nil {
				c.Failed = c.Failed || f[1] == "FAIL:"
				c.Skipped = c.Skipped || f[1] == "SKIP:"
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
func (r *Results) result(name string, f []string, peersPkg bool) bool {
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
		if top, sub, ok := split(name); ok && top == PeakBenchmark {
			r.Peaks[sub] = append(r.Peaks[sub], v)
		} else if c := r.cell(name, peersPkg); c != nil {
			c.GFLOPS = append(c.GFLOPS, v)
			r.Count = max(r.Count, len(c.GFLOPS))
		}
		break
	}
	return true
}

// split is a benchmark name's top-level name and sub-benchmark, without
// "Benchmark" and the -GOMAXPROCS suffix; ok is false for a top-level name.
func split(name string) (top, sub string, ok bool) {
	name = procSuffix.ReplaceAllString(strings.TrimPrefix(name, "Benchmark"), "")
	top, sub, ok = strings.Cut(name, "/")
	return top, sub, ok && top != "" && sub != ""
}

// cell finds or makes the cell of a benchmark name. Top-level names (no
// sub-benchmark) and the FMA peak benchmark are not cells.
func (r *Results) cell(name string, peersPkg bool) *Cell {
	top, sub, ok := split(name)
	if !ok || top == PeakBenchmark {
		return nil
	}
	key, col := top, Column{Name: sub}
	if peersPkg || peerNames[top] {
		key, col = sub, Column{Peer: true, Name: top}
	}
	row := r.Cells[key]
	if row == nil {
		row = map[Column]*Cell{}
		r.Cells[key] = row
		r.First = append(r.First, key)
	}
	c := row[col]
	if c == nil {
		c = &Cell{}
		row[col] = c
	}
	return c
}

// TypeName is the convgen type of a row: the generated type is the layer
// name with its first letter upper-cased.
func TypeName(row string) string {
	if row == "" {
		return row
	}
	return strings.ToUpper(row[:1]) + row[1:]
}

// Rows returns the row names and, per row, the merged cells of its convgen
// type and its peers. order (the spec's layer names) comes first; rows only
// in the input follow in the order they appeared.
func (r *Results) Rows(order []string) ([]string, map[string]map[Column]*Cell) {
	names := slices.Clone(order)
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	// Peer keys are row names; convgen keys are type names.
	byType := map[string]string{}
	for _, key := range r.First {
		for c := range r.Cells[key] {
			if c.Peer && !known[key] {
				known[key] = true
				names = append(names, key)
			}
		}
	}
	for n := range known {
		byType[TypeName(n)] = n
	}
	merged := map[string]map[Column]*Cell{}
	for _, key := range r.First {
		for c, v := range r.Cells[key] {
			row := key
			if !c.Peer {
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
				merged[row] = map[Column]*Cell{}
			}
			merged[row][c] = v
		}
	}
	return names, merged
}

// Median of v, which must not be empty; v is not changed.
func Median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
