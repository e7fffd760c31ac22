// Command captable turns `go test -bench` output of the generated
// capabilities package (bench/capabilities, from capabilities.json) into
// markdown tables of the ratios that show what each capability is worth:
//
//   - fused depthwise-separable blocks against their two layers run one
//     after the other, on one thread and on two;
//   - the NCHW layout against NHWC, layer by layer (rows X_nchw and X);
//   - the channel shuffle folded into the store against the same layer
//     unshuffled (rows X_shuffle and X);
//   - the depthwise channel multiplier against a plain depthwise layer
//     with as many output channels (rows dwm2_* and dw3_c64_56);
//   - ForwardParallel on two threads against Forward on one, every row.
//
// It runs nothing itself (see the bench-capabilities target of the
// repository's Makefile). With several runs each cell is their median.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/convgen/convgen/bench/internal/results"
)

func main() {
	spec := flag.String("spec", "capabilities.json", "the convgen spec the capabilities package was generated from")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: captable [-spec capabilities.json] [go-test-bench-output...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*spec, flag.Args(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "captable:", err)
		os.Exit(1)
	}
}

func run(specPath string, files []string, out io.Writer) error {
	s, err := readSpec(specPath)
	if err != nil {
		return err
	}
	r, err := results.ParseFiles(files)
	if err != nil {
		return err
	}
	if len(r.Cells) == 0 {
		return fmt.Errorf("no GFLOP/s benchmark results in the input")
	}
	_, err = io.WriteString(out, tables(s, r))
	return err
}

// spec is what captable needs of a convgen spec: the layer and block names.
type spec struct {
	Layers []struct {
		Name string `json:"name"`
	} `json:"layers"`
	Blocks []struct {
		Name string `json:"name"`
	} `json:"blocks"`
}

func readSpec(path string) (*spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// table is a markdown table under a heading.
type table struct {
	title, note string
	header      []string
	rows        [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) String() string {
	if len(t.rows) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n%s\n\n| %s |\n|", t.title, t.note, strings.Join(t.header, " | "))
	for i := range t.header {
		if i == 0 {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")
	for _, r := range t.rows {
		fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
	}
	return b.String() + "\n"
}

// cells looks up a row's (convgen type's) median GFLOP/s per kernel path.
type cells struct{ r *results.Results }

func (c cells) get(row, path string) (float64, bool) {
	return c.r.Cells[results.TypeName(row)][results.Column{Name: path}].Value()
}

// best is the row's fastest of the given paths (the AVX-512 kernel where
// the row has one, else AVX2), with the path's name.
func (c cells) best(row string, paths ...string) (float64, string, bool) {
	v, name, ok := 0.0, "", false
	for _, p := range paths {
		if x, found := c.get(row, p); found && x > v {
			v, name, ok = x, p, true
		}
	}
	return v, name, ok
}

func num(v float64, ok bool) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.1f", v)
}

func ratio(a, b float64, okA, okB bool) string {
	if !okA || !okB || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func tables(s *spec, r *results.Results) string {
	c := cells{r}
	var layers []string
	for _, l := range s.Layers {
		layers = append(layers, l.Name)
	}

	fused := &table{title: "Fused depthwise-separable blocks",
		note:   "`Forward` of the fused block against the depthwise then the 1×1 layer through a full intermediate map (`unfused`), each layer's best kernel; 2 threads: `ForwardParallel` on both.",
		header: []string{"block", "fused, 1 thread", "unfused, 1 thread", "fused / unfused", "fused, 2 threads", "unfused, 2 threads", "fused / unfused"}}
	for _, b := range s.Blocks {
		f1, ok1 := c.get(b.Name, "fused")
		u1, ok2 := c.get(b.Name, "unfused")
		f2, ok3 := c.get(b.Name, "fused_parallel")
		u2, ok4 := c.get(b.Name, "unfused_parallel")
		fused.add(b.Name, num(f1, ok1), num(u1, ok2), ratio(f1, u1, ok1, ok2), num(f2, ok3), num(u2, ok4), ratio(f2, u2, ok3, ok4))
	}

	nchw := &table{title: "NCHW against NHWC",
		note:   "The same layer generated with `\"layout\": \"nchw\"` and with the default NHWC layout: AVX2 kernels (NCHW has no AVX-512 variant), and the NCHW pure-Go path against the naive loop.",
		header: []string{"row", "NHWC AVX2", "NCHW AVX2", "NCHW / NHWC", "NCHW pure Go", "naive", "pure Go / naive"}}
	shuffle := &table{title: "Channel shuffle in the store",
		note:   "A layer with `shuffle` against the same layer without, per ISA: the shuffle costs what the ratio is short of 1.",
		header: []string{"row", "shuffled AVX2", "unshuffled AVX2", "shuffled / unshuffled", "shuffled AVX-512", "unshuffled AVX-512", "shuffled / unshuffled"}}
	for _, name := range layers {
		if base, ok := strings.CutSuffix(name, "_nchw"); ok && slices.Contains(layers, base) {
			h, okH := c.get(base, "avx2")
			n, okN := c.get(name, "avx2")
			g, okG := c.get(name, "purego")
			v, okV := c.get(name, "naive")
			nchw.add(base, num(h, okH), num(n, okN), ratio(n, h, okN, okH), num(g, okG), num(v, okV), ratio(g, v, okG, okV))
		}
		if base, ok := strings.CutSuffix(name, "_shuffle"); ok && slices.Contains(layers, base) {
			row := []string{base}
			for _, path := range []string{"avx2", "avx512"} {
				sh, okS := c.get(name, path)
				u, okU := c.get(base, path)
				row = append(row, num(sh, okS), num(u, okU), ratio(sh, u, okS, okU))
			}
			shuffle.add(row...)
		}
	}

	mult := &table{title: "Depthwise channel multiplier",
		note:   "`dwm2_*`: groups = cin, cout = 2·cin; against `dw3_c64_56`, a plain depthwise layer with the same output channels, size and MACs.",
		header: []string{"row", "AVX2", "AVX-512", "pure Go", "naive", "best / plain depthwise best"}}
	for _, name := range layers {
		if !strings.HasPrefix(name, "dwm") {
			continue
		}
		a, okA := c.get(name, "avx2")
		z, okZ := c.get(name, "avx512")
		g, okG := c.get(name, "purego")
		v, okV := c.get(name, "naive")
		m, _, okM := c.best(name, "avx2", "avx512")
		p, _, okP := c.best("dw3_c64_56", "avx2", "avx512")
		mult.add(name, num(a, okA), num(z, okZ), num(g, okG), num(v, okV), ratio(m, p, okM, okP))
	}

	scaling := &table{title: "Two threads against one",
		note:   "Each row's best kernel (AVX-512 where it has one): `ForwardParallel` with GOMAXPROCS=2 against `Forward` on one thread; blocks fused.",
		header: []string{"row", "kernel", "1 thread", "2 threads", "scaling"}}
	for _, name := range append(layers, blockNames(s)...) {
		paths := []string{"avx2", "avx512"}
		if strings.HasSuffix(name, "_block") {
			paths = []string{"fused"}
		}
		one, path, ok1 := c.best(name, paths...)
		two, ok2 := c.get(name, path+"_parallel")
		if ok1 || ok2 {
			scaling.add(name, path, num(one, ok1), num(two, ok2), ratio(two, one, ok2, ok1))
		}
	}

	out := "GFLOP/s counting 2·MACs, padding taps included; median of the runs.\n\n"
	for _, t := range []*table{fused, nchw, shuffle, mult, scaling} {
		out += t.String()
	}
	return out
}

func blockNames(s *spec) []string {
	var names []string
	for _, b := range s.Blocks {
		names = append(names, b.Name)
	}
	return names
}
