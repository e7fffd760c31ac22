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
	"sync"
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
	taps := g.kh * g.kw
	want := g.cout * (g.cin / g.groups) * taps
	if len(weights) != want {
		return nil, fmt.Errorf("New%s: weights has %d elements, want cout·(cin/groups)·kh·kw = %d·%d·%d·%d = %d",
			g.name, len(weights), g.cout, g.cin/g.groups, g.kh, g.kw, want)
	}
	switch {
	case g.bias && len(bias) != g.cout:
		return nil, fmt.Errorf("New%s: bias has %d elements, want cout = %d", g.name, len(bias), g.cout)
	case !g.bias && len(bias) != 0:
		return nil, fmt.Errorf("New%s: bias has %d elements, want none: the layer has no bias (bias: false in the spec)", g.name, len(bias))
	}
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
				if o0+l < (grp+1)*g.packCout && bias != nil {
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

// scratch holds the padded bands and patches border pixels are computed
// from; pooled so that concurrent Forward calls never share one.
var scratch = sync.Pool{New: func() any { return new([]float32) }}

// forward checks every argument, then walks the output rows.
func (g *geometry) forward(k rowKernel, w, dst, src []float32, n, h, wd int) error {
	oh, ow, err := g.check(dst, src, n, h, wd)
	if err != nil {
		return err
	}
	pt, pl, _, _ := g.pads(h, wd)
	cin, cout := g.cin, g.cout
	spanH, spanW := g.spanH(), g.spanW()

	// Output columns whose taps all lie inside the input row.
	oxLo := min(ceilDiv(pl, g.sw), ow)
	oxHi := oxLo
	if last := wd - spanW + pl; last >= 0 {
		oxHi = min(max(last/g.sw+1, oxLo), ow)
	}

	// A row with left or right padding runs its interior straight from src
	// and its border pixels one patch each, at one pixel per kernel call.
	// When the layer does many MACs per input value copied (wide groups),
	// copying the row into a band is cheap and keeps the whole row in full
	// register tiles instead.
	bandAll := oxHi-oxLo < ow && g.cout*g.kw >= 32*g.groups*g.sw

	buf := scratch.Get().(*[]float32)
	defer scratch.Put(buf)

	// A small padded image is cheaper to copy whole than to walk with bands
	// and patches (every row then runs in full register tiles), as long as
	// the copy is small beside the work: at most one float per 4 MACs.
	ph, pw := (oh-1)*g.sh+spanH, (ow-1)*g.sw+spanW
	macs := oh * ow * cout * (g.cin / g.groups) * g.kh * g.kw
	if (oxHi-oxLo < ow || pt > 0 || (oh-1)*g.sh-pt+spanH > h) && ph*pw*cin <= padWholeMax && 4*ph*pw*cin <= macs {
		padded := grow(buf, ph*pw*cin)
		for img := 0; img < n; img++ {
			in := src[img*h*wd*cin : (img+1)*h*wd*cin]
			for y := 0; y < ph; y++ {
				g.fillRow(padded[y*pw*cin:(y+1)*pw*cin], in, y-pt, -pl, h, wd)
			}
			for oy := 0; oy < oh; oy++ {
				out := dst[(img*oh+oy)*ow*cout : (img*oh+oy+1)*ow*cout]
				k(out, padded[oy*g.sh*pw*cin:], w, ow, g.dh*pw*cin)
			}
		}
		return nil
	}

	for img := 0; img < n; img++ {
		in := src[img*h*wd*cin : (img+1)*h*wd*cin]
		for oy := 0; oy < oh; oy++ {
			out := dst[(img*oh+oy)*ow*cout : (img*oh+oy+1)*ow*cout]
			iy0 := oy*g.sh - pt
			if iy0 < 0 || iy0+spanH > h || bandAll {
				// Rows cut by the top or bottom padding: copy the kh tap
				// rows, zero-padded on every side, and run the whole row.
				bw := (ow-1)*g.sw + spanW
				band := grow(buf, g.kh*bw*cin)
				for ky := 0; ky < g.kh; ky++ {
					g.fillRow(band[ky*bw*cin:(ky+1)*bw*cin], in, iy0+ky*g.dh, -pl, h, wd)
				}
				k(out, band, w, ow, bw*cin)
				continue
			}
			row := in[iy0*wd*cin:]
			if oxHi > oxLo {
				k(out[oxLo*cout:], row[(oxLo*g.sw-pl)*cin:], w, oxHi-oxLo, g.dh*wd*cin)
			}
			// Pixels cut by the left or right padding: one patch each.
			for ox := 0; ox < ow; ox++ {
				if ox == oxLo && oxHi > oxLo {
					ox = oxHi - 1
					continue
				}
				patch := grow(buf, g.kh*spanW*cin)
				for ky := 0; ky < g.kh; ky++ {
					g.fillRow(patch[ky*spanW*cin:(ky+1)*spanW*cin], in, iy0+ky*g.dh, ox*g.sw-pl, h, wd)
				}
				k(out[ox*cout:], patch, w, 1, spanW*cin)
			}
		}
	}
	return nil
}

// fillRow copies input row iy, columns ix0 … ix0+len(dst)/cin-1, into dst,
// with zeros for columns and rows outside the image.
func (g *geometry) fillRow(dst, in []float32, iy, ix0, h, wd int) {
	cin := g.cin
	clear(dst)
	if iy < 0 || iy >= h {
		return
	}
	cols := len(dst) / cin
	lo, hi := max(ix0, 0), min(ix0+cols, wd)
	if lo < hi {
		copy(dst[(lo-ix0)*cin:], in[(iy*wd+lo)*cin:(iy*wd+hi)*cin])
	}
}

// padWholeMax is the largest padded image, in floats, that forward copies
// whole (512 KiB: it stays in L2 while the kernel reads it).
const padWholeMax = 1 << 17

// grow returns (*buf)[:n], reallocating when it is too short.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// check validates the dimensions and slice lengths and returns the output
// size. Products are checked for overflow before they are used.
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
	need, ok := mulAll(n, h, w, g.cin)
	if !ok {
		return 0, 0, errf("n·h·w·cin = %d·%d·%d·%d overflows int", n, h, w, g.cin)
	}
	if len(src) < need {
		return 0, 0, errf("src has %d elements, want n·h·w·cin = %d·%d·%d·%d = %d", len(src), n, h, w, g.cin, need)
	}
	needOut, ok := mulAll(n, oh, ow, g.cout)
	if !ok {
		return 0, 0, errf("n·oh·ow·cout = %d·%d·%d·%d overflows int", n, oh, ow, g.cout)
	}
	if len(dst) < needOut {
		return 0, 0, errf("dst has %d elements, want n·oh·ow·cout = %d·%d·%d·%d = %d", len(dst), n, oh, ow, g.cout, needOut)
	}
	return oh, ow, nil
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
