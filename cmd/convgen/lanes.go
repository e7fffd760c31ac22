package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/convgen/convgen/gen"
	"github.com/convgen/convgen/internal/lanes"
)

// runLanes is `convgen lanes`: the filter-correlation square of two
// consecutive layers as a PNG (see package internal/lanes for the definition).
func runLanes(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("convgen lanes", flag.ContinueOnError)
	fset.SetOutput(stderr)
	onnxPath := fset.String("onnx", "", "ONNX model `file`")
	first := fset.String("first", "", "with -onnx: the first Conv, by `NODE` name or layer name")
	second := fset.String("second", "", "with -onnx: the Conv after it (its `NODE` name or layer name), which reads the first one's output")
	w1 := fset.String("w1", "", "raw weights `file` of layer 1: float32 little-endian, OIHW")
	w2 := fset.String("w2", "", "raw weights `file` of layer 2")
	shape1 := fset.String("shape1", "", "layer 1's weight shape `cout,cin_g,kh,kw` (cin_g = cin/groups)")
	shape2 := fset.String("shape2", "", "layer 2's weight shape `cout,cin_g,kh,kw`")
	groups1 := fset.Int("groups1", 1, "layer 1's groups")
	groups2 := fset.Int("groups2", 1, "layer 2's groups")
	out := fset.String("o", "lanes.png", "the PNG `file` to write")
	size := fset.Int("size", 512, "the picture's long side in `pixels` (at least one pixel per filter pair)")
	fset.Usage = func() {
		fmt.Fprintf(fset.Output(), "usage: convgen lanes -onnx FILE -first NODE -second NODE [-o FILE.png] [-size PX]\n")
		fmt.Fprintf(fset.Output(), "       convgen lanes -w1 FILE -shape1 COUT,CIN_G,KH,KW [-groups1 G] -w2 FILE -shape2 ... [-groups2 G] [-o FILE.png]\n\n")
		fmt.Fprintf(fset.Output(), "Draws the filter-correlation square of two consecutive convolutions: a row per filter of the first,\n")
		fmt.Fprintf(fset.Output(), "a column per filter of the second, bright where the second reads the channels of filters like the first.\n")
		fmt.Fprintf(fset.Output(), "Grouped pairs are block-diagonal, one block per lane; dense pairs have no structure.\n\n")
		fset.PrintDefaults()
	}
	if code, ok := parseFlags(fset, args, stderr, "convgen lanes"); !ok {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "convgen lanes: %v\n", err)
		return 2
	}
	if fset.NArg() > 0 {
		return fail(fmt.Errorf("unexpected argument %q", fset.Arg(0)))
	}
	if *size < 1 || *size > 16384 {
		return fail(fmt.Errorf("-size=%d: want 1 to 16384 pixels", *size))
	}

	var (
		wa, wb []float32
		sa, sb lanes.Shape
		what   string
	)
	switch {
	case *onnxPath != "" && (*w1 != "" || *w2 != ""):
		return fail(errors.New("give either -onnx or -w1 and -w2, not both"))
	case *onnxPath != "":
		var err error
		if wa, sa, wb, sb, err = lanesFromONNX(*onnxPath, *first, *second); err != nil {
			return fail(err)
		}
		what = fmt.Sprintf("%s -> %s", *first, *second)
	case *w1 != "" && *w2 != "":
		var errs []error
		var err error
		if sa, err = parseShape("-shape1", *shape1, *groups1); err != nil {
			errs = append(errs, err)
		}
		if sb, err = parseShape("-shape2", *shape2, *groups2); err != nil {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			return fail(err)
		}
		if wa, err = readRaw(*w1); err != nil {
			return fail(err)
		}
		if wb, err = readRaw(*w2); err != nil {
			return fail(err)
		}
		what = fmt.Sprintf("%s -> %s", *w1, *w2)
	default:
		return fail(errors.New("give -onnx FILE -first NODE -second NODE, or -w1 FILE -shape1 ... -w2 FILE -shape2 ..."))
	}

	sq, err := lanes.Correlate(wa, sa, wb, sb)
	if err != nil {
		return fail(err)
	}
	var buf bytes.Buffer
	if err := sq.WritePNG(&buf, *size); err != nil {
		return fail(err)
	}
	s, err := stage(*out, buf.Bytes())
	if err != nil {
		return fail(err)
	}
	if err := s.commit(); err != nil {
		s.discard()
		return fail(err)
	}
	on, off := sq.BlockMeans(sb.Groups)
	fmt.Fprintf(stdout, "%s: %s: %d x %d filters, %d lanes (layer 2's groups): mean correlation %.3g on the diagonal blocks, %.3g off them\n",
		*out, what, sq.Rows, sq.Cols, sb.Groups, on, off)
	return 0
}

// lanesFromONNX finds the two Convs and checks that the second reads the first.
func lanesFromONNX(path, first, second string) (wa []float32, sa lanes.Shape, wb []float32, sb lanes.Shape, err error) {
	if first == "" || second == "" {
		return nil, sa, nil, sb, errors.New("-onnx needs -first NODE and -second NODE")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, sa, nil, sb, err
	}
	m, err := gen.ReadONNX(path, data)
	if err != nil {
		return nil, sa, nil, sb, err
	}
	a, err := m.Find(first)
	if err != nil {
		return nil, sa, nil, sb, err
	}
	b, err := m.Find(second)
	if err != nil {
		return nil, sa, nil, sb, err
	}
	if err := m.Follows(a, b); err != nil {
		return nil, sa, nil, sb, err
	}
	entries, err := m.WeightEntries()
	if err != nil {
		return nil, sa, nil, sb, err
	}
	byName := map[string][]float32{}
	for _, e := range entries {
		byName[e.Name] = e.Weights
	}
	shape := func(c *gen.ONNXConv) lanes.Shape {
		return lanes.Shape{Cout: c.Cout, CinG: c.Cin / c.Groups, KH: c.KH, KW: c.KW, Groups: c.Groups}
	}
	return byName[a.Name], shape(a), byName[b.Name], shape(b), nil
}

// parseShape reads "cout,cin_g,kh,kw".
func parseShape(flagName, s string, groups int) (lanes.Shape, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return lanes.Shape{}, fmt.Errorf("%s=%q: want cout,cin_g,kh,kw", flagName, s)
	}
	var n [4]int
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 1 {
			return lanes.Shape{}, fmt.Errorf("%s=%q: want four positive integers cout,cin_g,kh,kw", flagName, s)
		}
		n[i] = v
	}
	return lanes.Shape{Cout: n[0], CinG: n[1], KH: n[2], KW: n[3], Groups: groups}, nil
}

// readRaw reads a file of little-endian float32.
func readRaw(path string) ([]float32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data)%4 != 0 {
		return nil, fmt.Errorf("%s: %d bytes, not a whole number of float32", path, len(data))
	}
	w := make([]float32, len(data)/4)
	for i := range w {
		w[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return w, nil
}
