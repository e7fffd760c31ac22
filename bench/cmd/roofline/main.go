// Command roofline draws the benchmark results on a roofline chart: for
// every row of the benchmark spec, its arithmetic intensity (FLOP per byte)
// against the GFLOP/s each implementation reached, under the machine's
// compute and memory roofs. It runs nothing itself: it reads the spec and
// the `go test -bench` output that `make bench` keeps, like cmd/table.
//
//	cd bench && go run ./cmd/roofline
//
// writes docs/roofline.png (and an SVG with -svg file.svg).
package main

import (
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/convgen/convgen/bench/internal/results"
	"github.com/convgen/convgen/gen"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The PNG is Width×Height pixels at DPI.
const (
	Width  = 1400
	Height = 900
	DPI    = 120
)

// config is what the flags say.
type config struct {
	spec, raw   string  // inputs
	png, svg    string  // outputs; svg is optional
	peak512     float64 // GFLOP/s, one core
	peak2       float64
	l2, dram    float64   // GB/s
	naive       bool      // also plot the naive loop
	date        time.Time // of the results; zero: the raw file's mtime
	progressOut io.Writer // the plotted values are printed here, if not nil
}

func main() {
	var c config
	flag.StringVar(&c.spec, "spec", "spec.json", "convgen spec of the benchmark rows")
	flag.StringVar(&c.raw, "results", "results/raw.txt", "go test -bench output (of make bench)")
	flag.StringVar(&c.png, "o", "docs/roofline.png", "PNG to write")
	flag.StringVar(&c.svg, "svg", "", "also write an SVG to this file")
	flag.Float64Var(&c.peak512, "peak-avx512", 0, "AVX-512 FMA peak of one core, GFLOP/s (0: BenchmarkFMAPeak/avx512 in -results, else 280)")
	flag.Float64Var(&c.peak2, "peak-avx2", 0, "AVX2 FMA peak of one core, GFLOP/s (0: BenchmarkFMAPeak/avx2 in -results, else 140)")
	flag.Float64Var(&c.l2, "l2", 117, "L2 bandwidth, GB/s")
	flag.Float64Var(&c.dram, "dram", 28, "DRAM bandwidth, GB/s")
	flag.BoolVar(&c.naive, "naive", false, "also plot the naive Go loop")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: roofline [flags]   (run in bench/)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	c.progressOut = os.Stdout
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "roofline:", err)
		os.Exit(1)
	}
}

// Fallback FMA peaks, GFLOP/s of one core, for results without
// BenchmarkFMAPeak (make bench records it since it has bench/peak): the
// Zen 5 machine of the earlier recorded runs.
const (
	fallbackPeak512 = 280
	fallbackPeak2   = 140
)

// peaks resolves the peak flags: a flag > 0 as given, else the peak
// measured in res, else the fallback. source says which, for the log.
func peaks(c *config, res *results.Results) (source string) {
	var from []string
	for _, p := range []struct {
		v        *float64
		isa      string
		fallback float64
	}{{&c.peak512, "avx512", fallbackPeak512}, {&c.peak2, "avx2", fallbackPeak2}} {
		if *p.v > 0 {
			from = append(from, p.isa+": flag")
			continue
		}
		if v, ok := res.Peak(p.isa); ok {
			*p.v = v
			from = append(from, p.isa+": measured")
			continue
		}
		*p.v = p.fallback
		from = append(from, p.isa+": not measured, fallback")
	}
	return fmt.Sprintf("FMA peaks: AVX-512 %.1f, AVX2 %.1f GFLOP/s (%s)", c.peak512, c.peak2, strings.Join(from, ", "))
}

// row is one benchmark row: its intensity and a GFLOP/s per implementation.
type row struct {
	name      string
	intensity float64 // FLOP/byte
	gflops    map[string]float64
}

// Implementations, in legend order. convgenISA is the best convgen
// instruction-set path: avx512, or avx2 where a row has no avx512 result
// (drawn hollow: convgenAVX2Only).
const (
	convgenISA      = "convgen AVX-512"
	convgenAVX2Only = "convgen AVX2, row without AVX-512"
	convgenAVX2     = "convgen AVX2"
	oneDNN          = "oneDNN"
	xnnpack         = "XNNPACK"
	pureGo          = "pure Go (convgen)"
	naive           = "naive Go loop"
)

// style of each implementation's points.
type style struct {
	glyph draw.GlyphDrawer
	color color.Color
	size  vg.Length
}

var styles = map[string]style{
	convgenISA:      {draw.CircleGlyph{}, color.RGBA{213, 94, 0, 255}, 4.2},
	convgenAVX2Only: {draw.RingGlyph{}, color.RGBA{213, 94, 0, 255}, 4.2},
	convgenAVX2:     {draw.TriangleGlyph{}, color.RGBA{230, 159, 0, 255}, 3.6},
	oneDNN:          {draw.SquareGlyph{}, color.RGBA{0, 114, 178, 255}, 3.2},
	xnnpack:         {draw.PyramidGlyph{}, color.RGBA{0, 158, 115, 255}, 3.6},
	pureGo:          {draw.CrossGlyph{}, color.RGBA{204, 121, 167, 255}, 3.4},
	naive:           {draw.PlusGlyph{}, color.Gray{110}, 3.4},
}

var implOrder = []string{convgenISA, convgenAVX2Only, convgenAVX2, oneDNN, xnnpack, pureGo, naive}

func run(c config) error {
	specData, err := os.ReadFile(c.spec)
	if err != nil {
		return err
	}
	spec, err := gen.ParseSpec(c.spec, specData)
	if err != nil {
		return err
	}
	intensity, order, err := intensities(spec)
	if err != nil {
		return err
	}
	f, err := os.Open(c.raw)
	if err != nil {
		return err
	}
	defer f.Close()
	res := results.New()
	if err := res.Parse(f); err != nil {
		return fmt.Errorf("%s: %v", c.raw, err)
	}
	if c.date.IsZero() {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		c.date = st.ModTime()
	}
	peakSource := peaks(&c, res)
	rows := collect(res, order, intensity, c.naive)
	n := 0
	for _, r := range rows {
		n += len(r.gflops)
	}
	if n == 0 {
		return errors.New(c.raw + ": no GFLOP/s results for the rows of " + c.spec)
	}
	if c.progressOut != nil {
		printRows(c.progressOut, rows, res)
		fmt.Fprintln(c.progressOut, peakSource)
	}
	runs := "one run"
	if res.Count > 1 {
		runs = fmt.Sprintf("median of %d runs", res.Count)
	}
	ch := chart{
		title:   fmt.Sprintf("convgen and peers on the roofline, 1 thread — results of %s", c.date.Format("2006-01-02")),
		rows:    rows,
		peak512: c.peak512, peak2: c.peak2, l2: c.l2, dram: c.dram,
		note: []string{
			"Intensity: FLOPs (2·MACs, taps on",
			"padding included) over bytes of",
			"float32 input + weights + output,",
			"each moved once; batch 1.",
			"GFLOP/s: " + runs + " per point.",
		},
	}
	if res.CPU != "" {
		ch.note = append(ch.note, "cpu: "+res.CPU)
	}
	if err := writeImage(ch, c.png, "png"); err != nil {
		return err
	}
	if c.svg != "" {
		if err := writeImage(ch, c.svg, "svg"); err != nil {
			return err
		}
	}
	return nil
}

// intensities is the arithmetic intensity of each spec layer by name, from
// gen.Explain (FLOPs over float32 input, weights, bias and output bytes for
// the layer's input size, batch 1), and the layer names in spec order.
func intensities(spec *gen.Spec) (map[string]float64, []string, error) {
	p, err := gen.NewPlan(spec)
	if err != nil {
		return nil, nil, err
	}
	cost := gen.Explain(p, gen.Machine{PeakGFLOPS: 1, BandwidthGBs: 1})
	m := map[string]float64{}
	var order []string
	for _, l := range cost.Layers {
		if l.Intensity <= 0 {
			return nil, nil, fmt.Errorf("layer %q has no input size in the spec: no intensity", l.Name)
		}
		m[l.Name] = l.Intensity
		order = append(order, l.Name)
	}
	return m, order, nil
}

// collect is the spec's rows with their medians per implementation; rows
// without a result are kept (they draw nothing).
func collect(res *results.Results, order []string, intensity map[string]float64, withNaive bool) []row {
	_, cells := res.Rows(order)
	get := func(cs map[results.Column]*results.Cell, peer bool, name string) (float64, bool) {
		return cs[results.Column{Peer: peer, Name: name}].Value()
	}
	var rows []row
	for _, name := range order {
		cs := cells[name]
		r := row{name: name, intensity: intensity[name], gflops: map[string]float64{}}
		set := func(impl string, v float64, ok bool) {
			if ok && v > 0 {
				r.gflops[impl] = v
			}
		}
		v512, ok512 := get(cs, false, "avx512")
		v2, ok2 := get(cs, false, "avx2")
		if ok512 {
			set(convgenISA, v512, true)
		} else {
			set(convgenAVX2Only, v2, ok2)
		}
		set(convgenAVX2, v2, ok2)
		v, ok := get(cs, true, "OneDNN")
		set(oneDNN, v, ok)
		v, ok = get(cs, true, "XNNPACK")
		set(xnnpack, v, ok)
		v, ok = get(cs, false, "purego")
		set(pureGo, v, ok)
		if withNaive {
			v, ok = get(cs, false, "naive")
			set(naive, v, ok)
		}
		rows = append(rows, r)
	}
	return rows
}

// printRows prints what is plotted, for the record.
func printRows(w io.Writer, rows []row, res *results.Results) {
	fmt.Fprintf(w, "%-18s %9s", "row", "FLOP/B")
	cols := []string{convgenISA, convgenAVX2, oneDNN, xnnpack, pureGo}
	heads := []string{"convgen", "avx2", "oneDNN", "XNNPACK", "pureGo"}
	for _, h := range heads {
		fmt.Fprintf(w, " %8s", h)
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "%-18s %9.2f", r.name, r.intensity)
		for i, c := range cols {
			v, ok := r.gflops[c]
			if i == 0 && !ok {
				v, ok = r.gflops[convgenAVX2Only]
			}
			if ok {
				fmt.Fprintf(w, " %8.1f", v)
			} else {
				fmt.Fprintf(w, " %8s", "—")
			}
		}
		fmt.Fprintln(w)
	}
}

// chart is everything drawn.
type chart struct {
	title                    string
	rows                     []row
	peak512, peak2, l2, dram float64
	note                     []string // lines under the legend
}

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// writeImage renders ch as format ("png" or "svg") into file.
func writeImage(ch chart, file, format string) error {
	w, h := vg.Length(Width)/DPI*vg.Inch, vg.Length(Height)/DPI*vg.Inch
	var canvas interface {
		vg.CanvasSizer
		io.WriterTo
	}
	var dc draw.Canvas
	switch format {
	case "png":
		img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
		dc = draw.New(img)
		canvas = vgimg.PngCanvas{Canvas: img}
	case "svg":
		s := vgsvg.New(w, h)
		dc = draw.New(s)
		canvas = s
	default:
		return fmt.Errorf("unknown image format %q", format)
	}
	if err := ch.draw(dc); err != nil {
		return err
	}
	if dir := filepath.Dir(file); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := canvas.WriteTo(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// draw draws the chart: the plot on the left, the legend and a note on
// the right, outside the data so they cover no point.
func (ch chart) draw(dc draw.Canvas) error {
	plot.DefaultFont = sans // before plot.New, which takes its title and axis fonts from it
	p := plot.New()
	p.Title.Text = ch.title
	p.Title.TextStyle.Font.Size = 14
	p.Title.Padding = 8
	p.X.Label.Text = "arithmetic intensity (FLOP/byte)"
	p.Y.Label.Text = "GFLOP/s"
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Scale = plot.LogScale{}
		a.Tick.Marker = logTicks{}
		a.Label.TextStyle.Font.Size = 13
		a.Tick.Label.Font.Size = 11
	}
	p.X.Label.Padding, p.Y.Label.Padding = 4, 4

	// Ranges: every point and both ridges, with room around them.
	xmin, xmax := math.Min(ch.peak512/ch.l2, ch.peak512/ch.dram), math.Max(ch.peak512/ch.l2, ch.peak512/ch.dram)
	ymin, ymax := ch.peak2, ch.peak512
	for _, r := range ch.rows {
		if len(r.gflops) == 0 {
			continue
		}
		xmin, xmax = math.Min(xmin, r.intensity), math.Max(xmax, r.intensity)
		for _, v := range r.gflops {
			ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
		}
	}
	p.X.Min, p.X.Max = xmin/2.8, xmax*2.2
	p.Y.Min, p.Y.Max = ymin/1.6, ymax*1.8

	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = color.Gray{225}, color.Gray{225}
	p.Add(grid)

	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	leg.TextStyle.Font = font.From(sans, 11)
	leg.Padding = 4
	leg.ThumbnailWidth = 26

	var roofs [][]plotter.XY
	// Roofs: min(peak, bw·I) is a straight line between its ends and the
	// ridge on log-log axes.
	roof := func(peak, bw float64, dash []vg.Length, width vg.Length, clr color.Color, label string) error {
		ridge := peak / bw
		xys := plotter.XYs{{X: p.X.Min, Y: math.Min(peak, bw*p.X.Min)}}
		if ridge > p.X.Min && ridge < p.X.Max {
			xys = append(xys, plotter.XY{X: ridge, Y: peak})
		}
		xys = append(xys, plotter.XY{X: p.X.Max, Y: math.Min(peak, bw*p.X.Max)})
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.Color, l.Width, l.Dashes = clr, width, dash
		p.Add(l)
		roofs = append(roofs, xys)
		leg.Add(label, l)
		return nil
	}
	num := func(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
	if err := roof(ch.peak512, ch.l2, nil, 1.6, color.Black,
		"AVX-512 peak "+num(ch.peak512)+" GFLOP/s, L2 "+num(ch.l2)+" GB/s"); err != nil {
		return err
	}
	if err := roof(ch.peak512, ch.dram, []vg.Length{vg.Points(6), vg.Points(3)}, 1.6, color.Gray{70},
		"AVX-512 peak, DRAM "+num(ch.dram)+" GB/s"); err != nil {
		return err
	}
	if err := roof(ch.peak2, math.Inf(1), []vg.Length{vg.Points(2), vg.Points(2.5)}, 1.6, color.Gray{90},
		"AVX2 peak "+num(ch.peak2)+" GFLOP/s"); err != nil {
		return err
	}

	// Points, the convgen ones last so they are on top; legend in order.
	scatters := map[string]*plotter.Scatter{}
	var all []labelPoint
	for i := len(implOrder) - 1; i >= 0; i-- {
		impl := implOrder[i]
		var xys plotter.XYs
		for _, r := range ch.rows {
			if v, ok := r.gflops[impl]; ok {
				xys = append(xys, plotter.XY{X: r.intensity, Y: v})
			}
		}
		if len(xys) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		st := styles[impl]
		s.GlyphStyle = draw.GlyphStyle{Color: st.color, Radius: st.size, Shape: st.glyph}
		scatters[impl] = s
		p.Add(s)
		for _, xy := range xys {
			all = append(all, labelPoint{x: xy.X, y: xy.Y, r: st.size})
		}
	}
	for _, impl := range implOrder {
		if s := scatters[impl]; s != nil {
			leg.Add(impl, s)
		}
	}

	// Row names beside the convgen points.
	lab := &labeller{style: text.Style{
		Color: color.Gray{30}, Font: font.From(sans, 9), Handler: p.TextHandler,
	}, avoid: all}
	for _, r := range ch.rows {
		v, ok := r.gflops[convgenISA]
		if !ok {
			v, ok = r.gflops[convgenAVX2Only]
		}
		if ok {
			lab.points = append(lab.points, labelPoint{x: r.intensity, y: v, r: styles[convgenISA].size, text: r.name})
		}
	}
	lab.lines = roofs
	p.Add(lab)

	// The legend and the note take a strip on the right.
	const pad = vg.Length(12)
	legRect := leg.Rectangle(dc)
	noteStyle := text.Style{Color: color.Gray{60}, Font: font.From(sans, 10), Handler: p.TextHandler}
	stripW := legRect.Size().X
	for _, l := range ch.note {
		stripW = max(stripW, noteStyle.Width(l))
	}
	stripW += 2 * pad
	p.Draw(draw.Crop(dc, 0, -stripW, 0, 0))

	top := p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding + pad
	legC := draw.Crop(dc, dc.Size().X-stripW+pad, -pad, 0, -top)
	leg.Draw(legC)
	y := legC.Max.Y - legRect.Size().Y - 2*pad
	lineH := noteStyle.FontExtents().Height * 1.15
	for _, l := range ch.note {
		dc.FillText(noteStyle, vg.Point{X: legC.Min.X, Y: y}, l)
		y -= lineH
	}
	return nil
}

// logTicks labels 1, 2 and 5 of every decade and marks the other integers
// of the decade, so a log axis spanning under two decades still reads.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
				if e < 0 {
					t.Label = strconv.FormatFloat(v, 'f', int(-e), 64)
				}
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// labelPoint is a point in data coordinates with the radius of its glyph,
// and for a label its text.
type labelPoint struct {
	x, y float64
	r    vg.Length
	text string
}

// labeller writes each point's text next to it, at the first of a few
// places around the point that overlaps no other label, glyph or roof line
// and stays inside the data area (else where it overlaps least).
type labeller struct {
	style  text.Style
	points []labelPoint   // what to label
	avoid  []labelPoint   // every glyph
	lines  [][]plotter.XY // the roofs
}

func (l *labeller) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	// What a label should not cover, by how much it costs per pt² covered.
	type obstacle struct {
		r      vg.Rectangle
		weight float64
	}
	var blocked []obstacle
	for _, a := range l.avoid {
		x, y := trX(a.x), trY(a.y)
		blocked = append(blocked, obstacle{vg.Rectangle{Min: vg.Point{X: x - a.r, Y: y - a.r}, Max: vg.Point{X: x + a.r, Y: y + a.r}}, 4})
	}
	// Roof lines as a chain of small boxes.
	for _, line := range l.lines {
		for i := 0; i+1 < len(line); i++ {
			x0, y0, x1, y1 := trX(line[i].X), trY(line[i].Y), trX(line[i+1].X), trY(line[i+1].Y)
			n := int(math.Hypot(float64(x1-x0), float64(y1-y0))/2) + 1
			for k := 0; k <= n; k++ {
				t := vg.Length(float64(k) / float64(n))
				x, y := x0+(x1-x0)*t, y0+(y1-y0)*t
				blocked = append(blocked, obstacle{vg.Rectangle{Min: vg.Point{X: x - 1.5, Y: y - 1.5}, Max: vg.Point{X: x + 1.5, Y: y + 1.5}}, 3})
			}
		}
	}
	sty := l.style
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YBottom
	leader := draw.LineStyle{Color: color.Gray{140}, Width: vg.Points(0.7)}
	// Directions from the point: right, left, up, down, then the diagonals.
	dirs := [][2]vg.Length{{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {1, 1}, {1, -1}, {-1, 1}, {-1, -1}}
	for _, pt := range l.points {
		x, y := trX(pt.x), trY(pt.y)
		box := sty.Rectangle(pt.text) // relative to the text's anchor
		w, h := box.Size().X, box.Size().Y
		var best vg.Rectangle
		bestCost, bestGap := math.Inf(1), vg.Length(0)
		for _, gap := range []vg.Length{2, 10, 20, 32} {
			d := pt.r + gap
			for i, dir := range dirs {
				// The box touches the point's glyph plus gap on the side of dir.
				var m vg.Point
				switch {
				case dir[0] == 0:
					m.X = x - w/2
				case dir[0] > 0:
					m.X = x + d*0.8*dir[0]
					if dir[1] == 0 {
						m.X = x + d
					}
				default:
					m.X = x - w + d*0.8*dir[0]
					if dir[1] == 0 {
						m.X = x - w - d
					}
				}
				switch {
				case dir[1] == 0:
					m.Y = y - h/2
				case dir[1] > 0:
					m.Y = y + d*0.8*dir[1]
					if dir[0] == 0 {
						m.Y = y + d
					}
				default:
					m.Y = y - h + d*0.8*dir[1]
					if dir[0] == 0 {
						m.Y = y - h - d
					}
				}
				r := vg.Rectangle{Min: m, Max: vg.Point{X: m.X + w, Y: m.Y + h}}
				cost := 3*float64(gap) + float64(i)*0.5 // nearer first, then in dirs order
				if r.Min.X < c.Min.X || r.Max.X > c.Max.X || r.Min.Y < c.Min.Y || r.Max.Y > c.Max.Y {
					cost += 1e6
				}
				for _, b := range blocked {
					cost += b.weight * overlap(r, b.r)
				}
				if cost < bestCost {
					best, bestCost, bestGap = r, cost, gap
				}
			}
		}
		blocked = append(blocked, obstacle{best, 8})
		if bestGap > 2 {
			// A leader from the glyph's edge to the nearest point of the label.
			to := vg.Point{X: min(max(x, best.Min.X), best.Max.X), Y: min(max(y, best.Min.Y), best.Max.Y)}
			dx, dy := to.X-x, to.Y-y
			if n := vg.Length(math.Hypot(float64(dx), float64(dy))); n > pt.r {
				from := vg.Point{X: x + dx/n*(pt.r+1), Y: y + dy/n*(pt.r+1)}
				c.StrokeLine2(leader, from.X, from.Y, to.X, to.Y)
			}
		}
		// box.Min is the offset of the text's lower-left corner from its anchor.
		c.FillText(sty, vg.Point{X: best.Min.X - box.Min.X, Y: best.Min.Y - box.Min.Y}, pt.text)
	}
}

// overlap is the area two rectangles share.
func overlap(a, b vg.Rectangle) float64 {
	w := min(a.Max.X, b.Max.X) - max(a.Min.X, b.Min.X)
	h := min(a.Max.Y, b.Max.Y) - max(a.Min.Y, b.Min.Y)
	if w <= 0 || h <= 0 {
		return 0
	}
	return float64(w * h)
}
