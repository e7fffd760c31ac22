// Package driver is the run-time half of every generated kernel package:
// argument checks, weight packing, and the row walk that feeds interior
// runs, padded bands and border patches to a shape-specialized row kernel.
//
// convgen copies this file into each package it generates (package clause
// rewritten, header added), so a generated package needs nothing beyond the
// standard library and golang.org/x/sys/cpu. It is an ordinary package here
// so that it is compiled, vetted and unit-tested like any other code.
package driver

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// rowKernel computes count consecutive output pixels of one output row.
//
// src starts at tap (0, 0) of the first pixel; consecutive pixels are
// strideW·cin floats apart, tap column kx is kx·dilationW·cin floats to the
// right and tap row ky starts ky·rowStride floats later (rowStride already
// includes the vertical dilation). dst receives count·cout floats. w is the
// weight buffer made by geometry.pack. The kernel reads and writes nothing
// else: the driver hands it only pixels whose taps all lie in src.
type rowKernel func(dst, src, w []float32, count, rowStride int)

// lanes is the vector width the packed weight layout is built around (a YMM
// register holds 8 float32).
const lanes = 8

// geometry is everything the driver knows about one layer; the row kernel
// has the same numbers baked in.
type geometry struct {
	name                   string // Go type name, for errors
	cin, cout, groups      int
	kh, kw, sh, sw, dh, dw int
	pt, pl, pb, pr         int
	same                   bool // TensorFlow "same": pads depend on the input size
	bias                   bool

	// Packed layout (see pack): packGroups groups of packCout output
	// channels, each reading packCin input channels per tap, split in
	// channel blocks of blockVecs vectors.
	packGroups, packCin, packCout, blockVecs int

	// nchw: activations are [n][c][h][w] (the layer runs forwardPlanar).
	// wholeGroups: its kernel runs every group in one call (the output
	// channels are shuffled across groups).
	nchw, wholeGroups bool

	// ranged: a grouped layer, or a depthwise one with no multiplier,
	// neither shuffled, whose kernels run exactly the units they are given
	// weights for (see rangeUnit).
	ranged bool

	// edges: a depthwise layer's edge kernels, each computing one output
	// pixel from only the tap columns inside the input row: columns lo …
	// for lo = 1 … kw-1, then columns … hi-1 for hi = 1 … kw-1 (see
	// edgeKernel). nil: border pixels run from zero-padded patches.
	edges []rowKernel

	// frames: a grouped or depthwise layer's framed kernels (see frame).
	// nil: rows cut by the padding run from zero-padded copies (and
	// depthwise border pixels through the edge kernels).
	frames []frame
}

// frame is a framed kernel: it computes a whole output row of ow pixels
// from input rows of wd pixels with pl columns of left padding, only tap
// rows lo … hi-1 (src at row lo's input, column 0; count is ow) and in
// each pixel only the tap columns inside the row. It skips every tap that
// falls on the padding, where the layer's kernel would need a zero-padded
// copy to read.
//
// rows > 1: a multi-row frame computes rows consecutive output rows whose
// tap rows all lie inside the image (lo 0, hi kh), of a layer with
// vertical stride sh and no vertical dilation, into rows consecutive rows
// of dst (ow·cout floats apart); src is at the first row's first tap row.
type frame struct {
	ow, wd, pl, lo, hi int
	rows, sh           int
	k                  rowKernel
}

// edgeKernel returns the edge kernel of a pixel whose tap columns lo …
// hi-1 lie inside the input, when exactly one side is cut; else nil.
func (g *geometry) edgeKernel(lo, hi int) rowKernel {
	switch {
	case g.edges == nil || lo >= hi:
		return nil
	case lo > 0 && hi == g.kw:
		return g.edges[lo-1]
	case lo == 0 && hi < g.kw:
		return g.edges[g.kw-2+hi]
	}
	return nil
}

// unit is the smallest channel range a ranged layer's kernels run: a
// group, or a depthwise channel block. out and in are its output and input
// channels, w its packed weight floats.
type unit struct{ out, in, w int }

// rangeUnit returns the layer's unit, or a zero one when its kernels
// cannot run ranges (a depthwise layer's blocks must divide its channels).
func (g *geometry) rangeUnit() unit {
	if !g.ranged {
		return unit{}
	}
	taps := g.kh * g.kw
	if g.packGroups > 1 {
		u := unit{out: g.packCout, in: g.packCin}
		for _, nv := range g.blocks() {
			u.w += nv * lanes * (1 + g.packCin*taps)
		}
		return u
	}
	n := lanes * g.blockVecs
	if g.cout%n != 0 {
		return unit{}
	}
	return unit{out: n, in: n, w: n * (1 + taps)}
}

func (g *geometry) spanH() int { return (g.kh-1)*g.dh + 1 }
func (g *geometry) spanW() int { return (g.kw-1)*g.dw + 1 }

// pads returns the padding for an h×w input.
func (g *geometry) pads(h, w int) (top, left, bottom, right int) {
	if !g.same {
		return g.pt, g.pl, g.pb, g.pr
	}
	top, bottom = samePad(h, g.sh, g.spanH())
	left, right = samePad(w, g.sw, g.spanW())
	return top, left, bottom, right
}

// samePad is TensorFlow's SAME rule: out = ceil(in/stride), the missing
// input split evenly with the odd one at the end.
func samePad(in, stride, span int) (before, after int) {
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+span-in, 0)
	return total / 2, total - total/2
}

// outputSize is floor((in + pads - span)/stride) + 1, or ≤ 0 when the
// padded input is smaller than the kernel's span.
func (g *geometry) outputSize(h, w int) (oh, ow int) {
	if h <= 0 || w <= 0 || h > maxDim || w > maxDim {
		return 0, 0
	}
	t, l, b, r := g.pads(h, w)
	oh = outDim(h+t+b, g.spanH(), g.sh)
	ow = outDim(w+l+r, g.spanW(), g.sw)
	return oh, ow
}

func outDim(padded, span, stride int) int {
	if padded < span {
		return 0
	}
	return (padded-span)/stride + 1
}

// maxDim bounds n, h and w so that index arithmetic cannot overflow before
// the product checks run.
const maxDim = 1 << 24

// blocks lists the channel blocks of one packed group: full vectors in
// blocks of blockVecs (the last may be shorter), then the partial vector, if
// any, as a block of its own. The assembly emitter follows the same rule.
func (g *geometry) blocks() (vecs []int) {
	full := g.packCout / lanes
	for v := 0; v < full; v += g.blockVecs {
		vecs = append(vecs, min(g.blockVecs, full-v))
	}
	if g.packCout%lanes != 0 {
		vecs = append(vecs, 1)
	}
	return vecs
}

// pack checks weights (OIHW) and bias and lays them out in the order the
// kernel streams them: for each packed group, for each channel block of nv
// vectors: nv·8 bias values, then for each input channel, for each tap,
// nv·8 weights. Lanes past the group's channel count are zero.
func (g *geometry) pack(weights, bias []float32) ([]float32, error) {
	if err := g.checkWeights(weights, bias); err != nil {
		return nil, err
	}
	taps := g.kh * g.kw
	blocks := g.blocks()
	size := 0
	for _, nv := range blocks {
		size += nv * lanes * (1 + g.packCin*taps)
	}
	out := make([]float32, 0, g.packGroups*size)
	for grp := 0; grp < g.packGroups; grp++ {
		o0 := grp * g.packCout
		for _, nv := range blocks {
			n := nv * lanes
			for l := 0; l < n; l++ {
				v := float32(0)
				if o0+l < (grp+1)*g.packCout && len(bias) > 0 {
					v = bias[o0+l]
				}
				out = append(out, v)
			}
			for ci := 0; ci < g.packCin; ci++ {
				for t := 0; t < taps; t++ {
					for l := 0; l < n; l++ {
						v := float32(0)
						if o := o0 + l; o < (grp+1)*g.packCout {
							v = weights[(o*g.packCin+ci)*taps+t]
						}
						out = append(out, v)
					}
				}
			}
			o0 += n
		}
	}
	return out, nil
}

// checkWeights checks the lengths of OIHW weights and of the bias.
func (g *geometry) checkWeights(weights, bias []float32) error {
	want := g.cout * (g.cin / g.groups) * g.kh * g.kw
	if len(weights) != want {
		return fmt.Errorf("New%s: weights has %d elements, want cout·(cin/groups)·kh·kw = %d·%d·%d·%d = %d",
			g.name, len(weights), g.cout, g.cin/g.groups, g.kh, g.kw, want)
	}
	switch {
	case g.bias && len(bias) != g.cout:
		return fmt.Errorf("New%s: bias has %d elements, want cout = %d", g.name, len(bias), g.cout)
	case !g.bias && len(bias) != 0:
		return fmt.Errorf("New%s: bias has %d elements, want none: the layer has no bias (bias: false in the spec)", g.name, len(bias))
	}
	return nil
}

// scratch holds the padded bands and patches border pixels are computed
// from; pooled so that concurrent Forward calls never share one.
var scratch = sync.Pool{New: func() any { return new([]float32) }}

// forward checks every argument, then walks the output rows.
func (g *geometry) forward(k rowKernel, w, dst, src []float32, n, h, wd int) error {
	return g.forwardParallel(k, w, dst, src, n, h, wd, 1)
}

// forwardParallel is forward with the output rows of all images split in
// contiguous runs over workers goroutines (workers ≤ 0: GOMAXPROCS). Every
// output is computed exactly as forward computes it, so the results are
// bit-identical; each worker writes its own rows of dst.
func (g *geometry) forwardParallel(k rowKernel, w, dst, src []float32, n, h, wd, workers int) error {
	oh, ow, err := g.check(dst, src, n, h, wd)
	if err != nil {
		return err
	}
	r := g.walk(k, w, dst, src, h, wd, oh, ow)
	splitRows(n*oh, workersFor(workers, g.macs(n, oh, ow)), func(from, to int) {
		buf := scratch.Get().(*[]float32)
		defer scratch.Put(buf)
		r.rows(from, to, buf, nil)
	})
	return nil
}

// forwardFused runs a depthwise layer dw and a 1×1 layer pw as one block:
// each worker computes a depthwise output row, or a band of rows when the
// walk runs channel ranges, into its own buffer (which stays in L1/L2) and
// hands each row straight to the pointwise kernel. The depthwise output
// never exists as a feature map.
func forwardFused(name string, dw *geometry, dwk rowKernel, dww []float32, pw *geometry, pwk rowKernel, pww []float32,
	dst, src []float32, n, h, wd, workers int) error {
	// The block's shape: dw's input and geometry, pw's output channels.
	shape := *dw
	shape.name, shape.cout = name, pw.cout
	oh, ow, err := shape.check(dst, src, n, h, wd)
	if err != nil {
		return err
	}
	r := dw.walk(dwk, dww, nil, src, h, wd, oh, ow)
	splitRows(n*oh, workersFor(workers, dw.macs(n, oh, ow)+pw.macs(n, oh, ow)), func(from, to int) {
		buf := scratch.Get().(*[]float32)
		defer scratch.Put(buf)
		rowBuf := scratch.Get().(*[]float32)
		defer scratch.Put(rowBuf)
		sink := &rowSink{buf: grow(rowBuf, r.sinkRows()*ow*dw.cout), done: func(img, oy0, oy1 int, mid []float32) {
			// A 1×1 layer's pixels follow each other across rows: one call.
			out := dst[(img*oh+oy0)*ow*pw.cout : (img*oh+oy1)*ow*pw.cout]
			pwk(out, mid, pww, (oy1-oy0)*ow, 0) // 1×1: no second tap row
		}}
		r.rows(from, to, buf, sink)
	})
	return nil
}

// splitRows runs do over [0, total) in contiguous runs on workers
// goroutines (≤ 0: GOMAXPROCS; 1: on the calling goroutine): the caller
// takes the first run and the team's helpers the others. A run a helper
// has not started by the time the caller is done with its own, the caller
// takes back and runs itself, so a helper that is late to wake (or whose
// thread the OS or the Go scheduler has put aside) costs at most the time
// of one thread. When another call has the team, every run gets a new
// goroutine instead.
func splitRows(total, workers int, do func(from, to int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, total)
	if workers <= 1 {
		do(0, total)
		return
	}
	per := ceilDiv(total, workers)
	if !team.TryLock() {
		var wg sync.WaitGroup
		for from := 0; from < total; from += per {
			wg.Add(1)
			go func(from, to int) {
				defer wg.Done()
				do(from, to)
			}(from, min(from+per, total))
		}
		wg.Wait()
		return
	}
	defer team.Unlock()
	var pending atomic.Int32
	var posted []*run
	for i, from := 0, per; from < total; i, from = i+1, from+per {
		pending.Add(1)
		r := &run{do: do, from: from, to: min(from+per, total), pending: &pending}
		team.helper(i).post(r)
		posted = append(posted, r)
	}
	do(0, min(per, total))
	for i, r := range posted {
		if r.claim() {
			team.all[i].next.CompareAndSwap(r, nil) // let go of do's slices
			r.run()
		}
	}
	for n := 0; pending.Load() > 0; n++ {
		if n >= spinChecks {
			runtime.Gosched()
		}
	}
}

// team is the set of helper goroutines splitRows hands runs to. A helper
// that has finished its run spins for spinFor, watching for the next one,
// before it parks: ForwardParallel is mostly called layer after layer, and
// waking a parked thread costs more (tens of microseconds on a virtual
// machine) than a whole run of a small layer, which then hardly scaled.
// Goroutines started per call had the same cost. Helpers live for the
// program; parked, they cost nothing.
var team helpers

type helpers struct {
	sync.Mutex // held by the splitRows call using the helpers
	all        []*helper
}

// helper returns helper i, starting helpers up to it.
func (t *helpers) helper(i int) *helper {
	for len(t.all) <= i {
		h := &helper{park: make(chan struct{}, 1)}
		t.all = append(t.all, h)
		go h.loop()
	}
	return t.all[i]
}

// run is one contiguous run of a split.
type run struct {
	do       func(from, to int)
	from, to int
	pending  *atomic.Int32 // runs not finished yet
	claimed  atomic.Bool   // by the helper or, taken back, by the caller
}

// claim tells whether the caller of claim is the one to run r.
func (r *run) claim() bool { return r.claimed.CompareAndSwap(false, true) }

func (r *run) run() {
	r.do(r.from, r.to)
	r.pending.Add(-1)
}

type helper struct {
	next   atomic.Pointer[run]
	parked atomic.Bool
	park   chan struct{} // a token wakes the helper; capacity 1
}

const (
	spinFor    = 100 * time.Microsecond
	spinChecks = 1 << 10 // polls between clock reads, and before the caller yields
)

// post hands r to the helper, waking it if it parked.
func (h *helper) post(r *run) {
	h.next.Store(r)
	if h.parked.Load() {
		select {
		case h.park <- struct{}{}:
		default: // a token is already there
		}
	}
}

func (h *helper) loop() {
	for {
		if r := h.wait(); r.claim() {
			r.run()
		}
	}
}

// wait returns the next run: spinning for spinFor, then parked. A helper
// announces that it parks before its last look, so that post either sees
// it parked and sends a token, or the last look sees the run.
func (h *helper) wait() *run {
	for {
		start := time.Now()
		for n := 0; ; n++ {
			if r := h.next.Swap(nil); r != nil {
				return r
			}
			if n%spinChecks == spinChecks-1 && time.Since(start) > spinFor {
				break
			}
		}
		h.parked.Store(true)
		if r := h.next.Swap(nil); r != nil {
			h.parked.Store(false)
			return r
		}
		<-h.park
		h.parked.Store(false)
	}
}

// minWorkerMACs is the least work worth another worker: about 128K
// multiply-adds, 1–3 µs of one core, well above what handing a run to a
// spinning helper costs (a 14×14 depthwise layer, 677K, still splits);
// smaller calls run on fewer workers.
const minWorkerMACs = 1 << 17

// workersFor caps workers (≤ 0: GOMAXPROCS) for a call of macs
// multiply-adds.
func workersFor(workers int, macs float64) int {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return max(1, min(workers, int(min(macs/minWorkerMACs, float64(workers)))))
}

// macs is the number of multiply-adds of an n-image call with an oh×ow
// output (float64: it may exceed int).
func (g *geometry) macs(n, oh, ow int) float64 {
	return float64(n) * float64(oh) * float64(ow) * float64(g.cout) * float64(g.cin/g.groups*g.kh*g.kw)
}

// rowWalk is what forward works out once per call: sizes, padding, and
// how each output row reaches the kernel.
type rowWalk struct {
	g             *geometry
	k             rowKernel
	w, dst, src   []float32
	h, wd, oh, ow int
	pt, pl        int
	oxLo, oxHi    int     // output columns whose taps all lie inside the input row
	bandAll       bool    // see walk
	strip         int     // output rows per zero-padded copy; 0: no copy (see walk)
	frames        []frame // the framed kernels of this call's row width and padding
	multi         frame   // its multi-row frame (rows 0: none)

	// chunk > 0: the kernel runs chunk units per call, every row of a
	// band of band output rows for one range before the next (see walk).
	unit        unit
	chunk, band int
}

// walk plans the row walk for a checked h×wd input with an oh×ow output.
func (g *geometry) walk(k rowKernel, w, dst, src []float32, h, wd, oh, ow int) *rowWalk {
	r := &rowWalk{g: g, k: k, w: w, dst: dst, src: src, h: h, wd: wd, oh: oh, ow: ow}
	r.pt, r.pl, _, _ = g.pads(h, wd)
	spanH, spanW := g.spanH(), g.spanW()
	r.oxLo = min(ceilDiv(r.pl, g.sw), ow)
	r.oxHi = r.oxLo
	if last := wd - spanW + r.pl; last >= 0 {
		r.oxHi = min(max(last/g.sw+1, r.oxLo), ow)
	}
	bordered := r.oxHi-r.oxLo < ow || r.pt > 0 || (oh-1)*g.sh-r.pt+spanH > h
	for _, f := range g.frames {
		switch {
		case f.ow != ow || f.wd != wd || f.pl != r.pl:
		case f.rows <= 1:
			r.frames = append(r.frames, f)
		case f.sh == g.sh && g.dh == 1:
			r.multi = f
		}
	}
	if len(r.frames) > 0 {
		// Framed kernels run the rows cut by the padding straight from
		// the input, skipping the taps on it: no copies (see frame).
		bordered = false
	}

	// A row with left or right padding runs its interior straight from src
	// and its border pixels one patch each, at one pixel per kernel call.
	// When the layer does many MACs per input value copied (wide groups),
	// copying the row into a band is cheap and keeps the whole row in full
	// register tiles instead.
	r.bandAll = r.oxHi-r.oxLo < ow && g.cout*g.kw >= 32*g.groups*g.sw && len(r.frames) == 0

	// Better still, copy the padded input, whole or in strips of output
	// rows, each copy at most padWholeMax floats (it stays in L2 while the
	// kernel reads it): every row then runs whole in full register tiles,
	// with no patches. A whole image is worth copying while the copy is
	// small beside the work, at most one float per 4 MACs; strips, whose
	// rows overlap, at most one per 8 (measured: a depthwise 5×5 layer at
	// 28×28, 12 MACs per float, gained 40%, a 3×3 one at 56×56, 6.5, lost
	// 30%: its two patches per row cost less than copying every row).
	// (float64: the products may exceed int for huge images.)
	rowFloats := float64((ow-1)*g.sw+spanW) * float64(g.cin)
	strip := min(float64(oh), (padWholeMax/rowFloats-float64(spanH))/float64(g.sh)+1)
	if bordered && strip >= 1 {
		s := int(strip)
		copied := float64(ceilDiv(oh, s)) * float64((s-1)*g.sh+spanH) * rowFloats
		perFloat := 8.0 // strips
		if s == oh {
			perFloat = 4 // the whole image
		}
		if g.edges != nil && 4*(ow-(r.oxHi-r.oxLo)) <= ow {
			// Edge kernels run the border pixels straight from the input
			// at little cost: copy only when it is tiny beside the work
			// (measured: a 3×3 depthwise layer at 14×14, 7 MACs per
			// float, ran 12% faster uncopied; a 5×5 one at 28×28, 19 per
			// float, 8% slower) or a quarter of the pixels are border.
			perFloat = 12
		}
		if perFloat*copied <= g.macs(1, oh, ow) {
			r.strip = s
		}
	}

	// Run a range of units (depthwise blocks, or groups) through a band of
	// output rows at a time, when the whole row would not stay in cache:
	//   - A depthwise row reads kh input rows of every channel, and the
	//     next output row rereads kh-sh of them; whole, they overflow L1
	//     (three 56-pixel rows of 144 channels are 97 KiB), so each output
	//     row fetched all kh from L2 again. A range's tap rows fit in
	//     rangeBytes: each input row comes from L2 once per band.
	//   - A grouped row streams every group's weights; when they overflow
	//     rangeWeightBytes (AlexNet's 1.2 MiB), each pixel tile fetched
	//     them from L3. A range's weights stay in L2. (Grouped layers with
	//     smaller weights gain nothing from ranges: measured.)
	// A depthwise layer with a multi-row frame runs whole rows instead:
	// its register tile already reuses each input row for the output rows
	// that share it, and a tile over every channel reads each pixel's
	// channels in one sequential run (measured on Zen 4, AVX-512, 3×3
	// stride 2, 96 channels at 112×112 with the input cached: 110–137 µs
	// in ranges of one block, 87 µs whole).
	if u := g.rangeUnit(); u.out > 0 && (r.strip > 0 || !r.bandAll) && r.multi.rows < 2 {
		units := 0
		switch {
		case g.packGroups == 1:
			units = max(rangeBytes/(4*g.kh*((ow-1)*g.sw+spanW)*u.in), 1)
		case 4*u.w*g.packGroups > rangeWeightBytes:
			units = max(rangeWeightBytes/(4*u.w), 1)
		}
		if units > 0 && units*u.out < g.cout {
			r.unit, r.chunk = u, units
			r.band = max(1, int((bandFloats/rowFloats-float64(spanH))/float64(g.sh)+1))
		}
	}
	return r
}

// rangeBytes bounds the tap rows of one depthwise range (walk),
// rangeWeightBytes the weights of one grouped range, and bandFloats the
// input rows of one band: L1- and L2-sized with room to spare (measured on
// a 48 KiB L1: 16 KiB ranges ran a 3×3 depthwise layer 7% slower than
// 24 KiB ones, 40 KiB 20% slower). Variables so that tests can reach the
// other paths.
var (
	rangeBytes       = 24 << 10
	rangeWeightBytes = 512 << 10
	bandFloats       = float64(1 << 16)
)

// walkSettings are the variables that choose the walk's paths; tests save
// them, force a path, and restore them.
type walkSettings struct {
	padWholeMax, bandFloats      float64
	rangeBytes, rangeWeightBytes int
}

func saveWalk() walkSettings {
	return walkSettings{padWholeMax, bandFloats, rangeBytes, rangeWeightBytes}
}

func (s walkSettings) restore() {
	padWholeMax, bandFloats, rangeBytes, rangeWeightBytes = s.padWholeMax, s.bandFloats, s.rangeBytes, s.rangeWeightBytes
}

// rows computes output rows from … to-1, counted over all images, into
// dst or, with a sink, into its buffer followed by its done.
func (r *rowWalk) rows(from, to int, buf *[]float32, sink *rowSink) {
	for from < to {
		img, oy := from/r.oh, from%r.oh
		end := min(r.oh, oy+to-from)
		switch {
		case r.strip > 0:
			for ; oy < end; oy += r.strip {
				r.paddedRows(img, oy, min(oy+r.strip, end), buf, sink)
			}
		case r.chunk > 0:
			for ; oy < end; oy += r.band {
				r.bandRows(img, oy, min(oy+r.band, end), buf, sink)
			}
		default:
			for oy < end {
				sink.start(oy)
				n := r.multiRows(oy, end)
				if n > 0 {
					r.multiRow(img, oy, sink)
				} else {
					n = 1
					r.row(img, oy, buf, r.out(img, oy, sink))
				}
				r.finish(img, oy, oy+n, sink)
				oy += n
			}
		}
		from += end - from%r.oh
	}
}

// rowSink redirects computed output rows: into buf, which holds rows
// first, first+1, … (sinkRows of them), instead of dst, then through done
// (a fused block's second layer).
type rowSink struct {
	buf   []float32
	first int
	done  func(img, oy0, oy1 int, rows []float32) // rows oy0 … oy1-1, one after the other
}

// start makes the sink's buffer hold rows from oy on; a nil sink ignores it.
func (s *rowSink) start(oy int) {
	if s != nil {
		s.first = oy
	}
}

// sinkRows is the number of rows a sink's buffer must hold: a band's when
// the walk runs channel ranges, else one; a whole padded strip when its
// output is no larger than a band's input (a small image then goes through
// its ranges once, not once per band).
func (r *rowWalk) sinkRows() int {
	n := max(r.multi.rows, 1)
	if r.chunk > 0 {
		n = r.band
	}
	if r.strip > 0 && float64(r.strip)*float64(r.ow*r.g.cout) <= bandFloats {
		n = max(n, r.strip)
	}
	return n
}

// out is where output row oy of image img is computed: its row of dst, or
// its place in the sink's buffer.
func (r *rowWalk) out(img, oy int, sink *rowSink) []float32 { return r.outRows(img, oy, 1, sink) }

// outRows is out for rows oy … oy+n-1, one after the other.
func (r *rowWalk) outRows(img, oy, n int, sink *rowSink) []float32 {
	size := r.ow * r.g.cout
	if sink != nil {
		i := oy - sink.first
		return sink.buf[i*size : (i+n)*size]
	}
	return r.dst[(img*r.oh+oy)*size : (img*r.oh+oy+n)*size]
}

// multiRows returns the rows of the multi-row frame when it can compute
// rows oy … of a run that ends before row end (every tap row of each
// inside the image), else 0.
func (r *rowWalk) multiRows(oy, end int) int {
	n := r.multi.rows
	if n < 2 || oy+n > end || !r.inside(oy) || !r.inside(oy+n-1) {
		return 0
	}
	return n
}

// multiRow runs the multi-row frame on rows oy … of image img. (A walk
// with a multi-row frame runs no channel ranges: see walk.)
func (r *rowWalk) multiRow(img, oy int, sink *rowSink) {
	g := r.g
	in := r.src[img*r.h*r.wd*g.cin : (img+1)*r.h*r.wd*g.cin]
	iy := oy*g.sh - r.pt
	r.multi.k(r.outRows(img, oy, r.multi.rows, sink), in[iy*r.wd*g.cin:], r.w, r.ow, r.wd*g.cin)
}

// finish hands the computed rows oy0 … oy1-1 to the sink, if any.
func (r *rowWalk) finish(img, oy0, oy1 int, sink *rowSink) {
	if sink == nil {
		return
	}
	n := r.ow * r.g.cout
	sink.done(img, oy0, oy1, sink.buf[(oy0-sink.first)*n:(oy1-sink.first)*n])
}

// paddedRows copies the zero-padded input rows that output rows oy0 …
// oy1-1 of image img read, then runs each output row whole, or each
// channel range over the rows (with a sink, over as many rows as it holds).
func (r *rowWalk) paddedRows(img, oy0, oy1 int, buf *[]float32, sink *rowSink) {
	g, cin := r.g, r.g.cin
	pw := (r.ow-1)*g.sw + g.spanW()
	y0, y1 := oy0*g.sh, (oy1-1)*g.sh+g.spanH()
	padded := grow(buf, (y1-y0)*pw*cin)
	in := r.src[img*r.h*r.wd*cin : (img+1)*r.h*r.wd*cin]
	for y := y0; y < y1; y++ {
		g.fillRow(padded[(y-y0)*pw*cin:(y-y0+1)*pw*cin], in, y-r.pt, -r.pl, r.h, r.wd)
	}
	step := oy1 - oy0
	if sink != nil {
		step = r.sinkRows()
	}
	for a := oy0; a < oy1; a += step {
		b := min(a+step, oy1)
		sink.start(a)
		r.eachRange(func(co, ci int, w []float32) {
			for oy := a; oy < b; oy++ {
				r.k(r.out(img, oy, sink)[co:], padded[(oy*g.sh-y0)*pw*cin+ci:], w, r.ow, g.dh*pw*cin)
			}
		})
		r.finish(img, a, b, sink)
	}
}

// eachRange calls run for each range of r.chunk units (all of the layer
// when chunk is 0) with the range's first output and input channels and
// its packed weights.
func (r *rowWalk) eachRange(run func(co, ci int, w []float32)) {
	if r.chunk == 0 {
		run(0, 0, r.w)
		return
	}
	u, units := r.unit, r.g.cout/r.unit.out
	for i := 0; i < units; i += r.chunk {
		run(i*u.out, i*u.in, r.w[i*u.w:min(i+r.chunk, units)*u.w])
	}
}

// bandRows computes output rows oy0 … oy1-1 of image img, one channel
// range at a time over the rows that run straight from the input (framed,
// or without top or bottom padding); the other rows, and the border pixels
// of unframed rows, run as in row.
func (r *rowWalk) bandRows(img, oy0, oy1 int, buf *[]float32, sink *rowSink) {
	g := r.g
	in := r.src[img*r.h*r.wd*g.cin : (img+1)*r.h*r.wd*g.cin]
	sink.start(oy0)
	r.eachRange(func(co, ci int, w []float32) {
		for oy := oy0; oy < oy1; oy++ {
			switch f, iy := r.frameFor(oy); {
			case f != nil:
				f(r.out(img, oy, sink)[co:], in[iy*r.wd*g.cin+ci:], w, r.ow, g.dh*r.wd*g.cin)
			case r.inside(oy) && r.oxHi > r.oxLo:
				r.interior(in, oy, r.out(img, oy, sink), co, ci, w)
			}
		}
	})
	for oy := oy0; oy < oy1; oy++ {
		out := r.out(img, oy, sink)
		switch f, _ := r.frameFor(oy); {
		case f != nil:
		case r.inside(oy):
			r.borderPixels(in, oy, buf, out)
		default:
			r.row(img, oy, buf, out)
		}
	}
	r.finish(img, oy0, oy1, sink)
}

// inside tells whether every tap row of output row oy lies inside the
// image.
func (r *rowWalk) inside(oy int) bool {
	iy0 := oy*r.g.sh - r.pt
	return iy0 >= 0 && iy0+r.g.spanH() <= r.h
}

// frameFor returns the framed kernel of output row oy, and the input row
// its first computed tap row reads; nil when the call has none that fits.
func (r *rowWalk) frameFor(oy int) (rowKernel, int) {
	if len(r.frames) == 0 {
		return nil, 0
	}
	g := r.g
	iy0 := oy*g.sh - r.pt
	lo := max(ceilDiv(-iy0, g.dh), 0)
	hi := 0
	if iy0 < r.h {
		hi = min((r.h-1-iy0)/g.dh+1, g.kh)
	}
	for _, f := range r.frames {
		if f.lo == lo && f.hi == hi {
			return f.k, iy0 + lo*g.dh
		}
	}
	return nil, 0
}

// row computes output row oy of image img into out.
func (r *rowWalk) row(img, oy int, buf *[]float32, out []float32) {
	g, cin := r.g, r.g.cin
	spanH, spanW := g.spanH(), g.spanW()
	in := r.src[img*r.h*r.wd*cin : (img+1)*r.h*r.wd*cin]
	if f, iy := r.frameFor(oy); f != nil {
		f(out, in[iy*r.wd*cin:], r.w, r.ow, g.dh*r.wd*cin)
		return
	}
	iy0 := oy*g.sh - r.pt
	if iy0 < 0 || iy0+spanH > r.h || r.bandAll {
		// Rows cut by the top or bottom padding: copy the kh tap rows,
		// zero-padded on every side, and run the whole row.
		bw := (r.ow-1)*g.sw + spanW
		band := grow(buf, g.kh*bw*cin)
		for ky := 0; ky < g.kh; ky++ {
			g.fillRow(band[ky*bw*cin:(ky+1)*bw*cin], in, iy0+ky*g.dh, -r.pl, r.h, r.wd)
		}
		r.k(out, band, r.w, r.ow, bw*cin)
		return
	}
	if r.oxHi > r.oxLo {
		r.interior(in, oy, out, 0, 0, r.w)
	}
	r.borderPixels(in, oy, buf, out)
}

// interior runs the kernel on the pixels of output row oy (no top or
// bottom padding) whose taps all lie inside the input row, for the
// output channels from co (input channels from ci) that w holds the
// weights of.
func (r *rowWalk) interior(in []float32, oy int, out []float32, co, ci int, w []float32) {
	g, cin := r.g, r.g.cin
	row := in[(oy*g.sh-r.pt)*r.wd*cin:]
	r.k(out[r.oxLo*g.cout+co:], row[(r.oxLo*g.sw-r.pl)*cin+ci:], w, r.oxHi-r.oxLo, g.dh*r.wd*cin)
}

// borderPixels computes the pixels of output row oy (no top or bottom
// padding) cut by the left or right padding: with an edge kernel straight
// from the input, else one zero-padded patch each.
func (r *rowWalk) borderPixels(in []float32, oy int, buf *[]float32, out []float32) {
	g, cin, cout := r.g, r.g.cin, r.g.cout
	spanW := g.spanW()
	iy0 := oy*g.sh - r.pt
	for ox := 0; ox < r.ow; ox++ {
		if ox == r.oxLo && r.oxHi > r.oxLo {
			ox = r.oxHi - 1
			continue
		}
		// The tap columns inside the row: ix0 + kx·dw in [0, wd).
		ix0 := ox*g.sw - r.pl
		lo := min(max(ceilDiv(-ix0, g.dw), 0), g.kw)
		hi := 0
		if ix0 < r.wd {
			hi = min((r.wd-1-ix0)/g.dw+1, g.kw)
		}
		if ek := g.edgeKernel(lo, hi); ek != nil {
			ek(out[ox*cout:], in[(iy0*r.wd+ix0+lo*g.dw)*cin:], r.w, 1, g.dh*r.wd*cin)
			continue
		}
		patch := grow(buf, g.kh*spanW*cin)
		for ky := 0; ky < g.kh; ky++ {
			g.fillRow(patch[ky*spanW*cin:(ky+1)*spanW*cin], in, iy0+ky*g.dh, ox*g.sw-r.pl, r.h, r.wd)
		}
		r.k(out[ox*cout:], patch, r.w, 1, spanW*cin)
	}
}

// fillRow copies input row iy, columns ix0 … ix0+len(dst)/cin-1, into dst,
// with zeros for columns and rows outside the image.
func (g *geometry) fillRow(dst, in []float32, iy, ix0, h, wd int) {
	cin := g.cin
	cols := len(dst) / cin
	lo, hi := max(ix0, 0), min(ix0+cols, wd)
	if iy < 0 || iy >= h || lo >= hi {
		clear(dst)
		return
	}
	// Zero only the columns outside the image: each float is written once.
	clear(dst[:(lo-ix0)*cin])
	copy(dst[(lo-ix0)*cin:], in[(iy*wd+lo)*cin:(iy*wd+hi)*cin])
	clear(dst[(hi-ix0)*cin:])
}

// padWholeMax is the largest zero-padded copy of input rows, in floats,
// that forward makes at once (512 KiB: it stays in L2 while the kernel
// reads it). A variable so that tests can turn the copy off and reach the
// other paths.
var padWholeMax = float64(1 << 17)

// grow returns (*buf)[:n], reallocating when it is too short.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// check validates the dimensions and slice lengths, and that dst and src
// do not overlap, and returns the output size. Products are checked for
// overflow before they are used.
func (g *geometry) check(dst, src []float32, n, h, w int) (oh, ow int, err error) {
	errf := func(format string, a ...any) error {
		return fmt.Errorf("%s.Forward: "+format, append([]any{g.name}, a...)...)
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"n", n}, {"h", h}, {"w", w}} {
		if d.v < 1 || d.v > maxDim {
			return 0, 0, errf("%s=%d: must be between 1 and %d", d.name, d.v, maxDim)
		}
	}
	oh, ow = g.outputSize(h, w)
	if oh < 1 || ow < 1 {
		t, l, b, r := g.pads(h, w)
		return 0, 0, errf("input %dx%d is smaller than the kernel span %dx%d with padding (top %d, left %d, bottom %d, right %d)",
			h, w, g.spanH(), g.spanW(), t, l, b, r)
	}
	// Both products first, so that an overflow is reported whatever the
	// slices are.
	// The products in the layout's order, for the messages.
	in, out := fmt.Sprintf("n·h·w·cin = %d·%d·%d·%d", n, h, w, g.cin), fmt.Sprintf("n·oh·ow·cout = %d·%d·%d·%d", n, oh, ow, g.cout)
	if g.nchw {
		in, out = fmt.Sprintf("n·cin·h·w = %d·%d·%d·%d", n, g.cin, h, w), fmt.Sprintf("n·cout·oh·ow = %d·%d·%d·%d", n, g.cout, oh, ow)
	}
	need, ok := mulAll(n, h, w, g.cin)
	if !ok {
		return 0, 0, errf("%s overflows int", in)
	}
	needOut, ok := mulAll(n, oh, ow, g.cout)
	if !ok {
		return 0, 0, errf("%s overflows int", out)
	}
	if len(src) < need {
		return 0, 0, errf("src has %d elements, want %s = %d", len(src), in, need)
	}
	if len(dst) < needOut {
		return 0, 0, errf("dst has %d elements, want %s = %d", len(dst), out, needOut)
	}
	// Forward reads src while it writes dst, row by row, so it cannot work
	// in place: an output row would overwrite inputs later rows still read.
	// Overlapping dst and src is an error rather than garbage. Only the
	// parts Forward uses count: dst[:needOut] and src[:need] may be
	// neighbouring pieces of one array, and longer slices may run into
	// each other past those prefixes.
	if overlap(dst[:needOut], src[:need]) {
		return 0, 0, errf("dst and src overlap: Forward does not work in place")
	}
	return oh, ow, nil
}

// overlap reports whether the memory of a and b overlaps; empty slices
// overlap nothing.
func overlap(a, b []float32) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	const size = uintptr(unsafe.Sizeof(float32(0)))
	a0, b0 := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return a0 < b0+uintptr(len(b))*size && b0 < a0+uintptr(len(a))*size
}

// mulAll multiplies positive ints, reporting overflow.
func mulAll(xs ...int) (int, bool) {
	p := 1
	for _, x := range xs {
		if x != 0 && p > math.MaxInt/x {
			return 0, false
		}
		p *= x
	}
	return p, true
}

// errNoLayer is returned by Forward on a nil receiver.
var errNoLayer = errors.New("Forward called on a nil layer: use the New function")
