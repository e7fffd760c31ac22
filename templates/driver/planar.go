package driver

// The NCHW half of the driver: layers with layout "nchw" run a plane
// kernel, vectorized along the output row, over input planes in which
// every tap of every output pixel exists. convgen copies this file into a
// generated package only when one of its layers is NCHW.

// planeKernel computes count consecutive output pixels of one output row
// in every output channel plane (NCHW).
//
// src starts at tap row 0 of the row in input plane 0; input plane ci is
// ci·srcPlane floats later, tap row ky is ky·rowStride floats down
// (rowStride includes the vertical dilation), and the columns of a row are
// split in stride phases phaseStride floats apart: output pixel x's tap kx
// reads column x + (kx·dw)/sw of phase (kx·dw)%sw. dst starts at the row in
// output plane 0; plane o is o·dstPlane floats later and receives count
// floats. The kernel runs groups consecutive groups (every group, whatever
// groups says, when wholeGroups is set); src, dst and w (the buffer
// packPlanar made) start at the first. It touches nothing else.
type planeKernel func(dst, src, w []float32, count, rowStride, phaseStride, srcPlane, dstPlane, groups int)

// packPlanar checks weights (OIHW) and bias and lays them out in the order
// a plane kernel with chanTile channels per register tile streams them:
// for each group, for each block of chanTile output channels (the last
// block takes the rest): the block's bias values, then for each input
// channel, for each tap, one weight per channel of the block.
func (g *geometry) packPlanar(weights, bias []float32, chanTile int) ([]float32, error) {
	if err := g.checkWeights(weights, bias); err != nil {
		return nil, err
	}
	taps, cinG, coutG := g.kh*g.kw, g.cin/g.groups, g.cout/g.groups
	out := make([]float32, 0, g.cout*(1+cinG*taps))
	for o0 := 0; o0 < g.cout; o0 += coutG {
		for b := o0; b < o0+coutG; b += chanTile {
			co := min(chanTile, o0+coutG-b)
			for o := b; o < b+co; o++ {
				v := float32(0)
				if len(bias) > 0 { // nil or empty: no bias
					v = bias[o]
				}
				out = append(out, v)
			}
			for ci := 0; ci < cinG; ci++ {
				for t := 0; t < taps; t++ {
					for o := b; o < b+co; o++ {
						out = append(out, weights[(o*cinG+ci)*taps+t])
					}
				}
			}
		}
	}
	return out, nil
}

// planes is how forwardPlanar feeds an image to the kernel: straight from
// src when no tap leaves the image and columns are unit-strided, else from
// a zero-padded copy with the columns split in stride phases.
type planes struct {
	direct               bool
	rows, cols           int // copy: rows of sw·cols floats (cols per phase)
	rowLen, plane, phase int // the kernel's view: floats per row, per input plane, per phase
}

func (g *geometry) planes(h, wd, oh, ow int) planes {
	t, l, _, _ := g.pads(h, wd)
	rows, width := (oh-1)*g.sh+g.spanH(), (ow-1)*g.sw+g.spanW()
	if t == 0 && l == 0 && rows <= h && width <= wd && g.sw == 1 {
		return planes{direct: true, rowLen: wd, plane: h * wd}
	}
	cols := ceilDiv(width, g.sw)
	return planes{rows: rows, cols: cols, rowLen: g.sw * cols, plane: rows*g.sw*cols + planeSlack, phase: cols}
}

// fill writes input planes c0 … c1-1 of one image (in) into the padded,
// phase-split copy buf: phase p of row y holds columns p, p+sw, … of
// padded row y, zero outside the image.
func (g *geometry) fill(p planes, buf, in []float32, h, wd, c0, c1 int) {
	t, l, _, _ := g.pads(h, wd)
	if g.sw <= 2 {
		// Rows y0 … y1-1 hold input rows; n input columns fit in a row.
		// Stride 2: input column i is padded column i+l, so the even
		// ones go to phase l%2 from column l/2, the odd ones to the other
		// phase from column (l+1)/2.
		y0, y1 := min(t, p.rows), min(max(h+t, t), p.rows)
		n := max(min(wd, p.rowLen-l), 0)
		even0, odd0 := l/2, p.cols+(l+1)/2
		if l%2 == 1 {
			even0, odd0 = p.cols+l/2, (l+1)/2
		}
		for ci := c0; ci < c1; ci++ {
			plane := buf[ci*p.plane:]
			switch {
			case y1 > y0 && n > 0 && g.sw == 1:
				padRows(plane[y0*p.rowLen:], in[ci*h*wd+(y0-t)*wd:], y1-y0, n, wd, p.rowLen, l)
			case y1 > y0 && n > 0:
				padPairs(plane[y0*p.rowLen:], in[ci*h*wd+(y0-t)*wd:], y1-y0, n, wd, p.rowLen, even0, odd0)
			default:
				clear(plane[y0*p.rowLen : y1*p.rowLen])
			}
			clear(plane[:y0*p.rowLen])
			clear(plane[y1*p.rowLen : p.plane])
		}
		return
	}
	for ci := c0; ci < c1; ci++ {
		plane := buf[ci*p.plane : (ci+1)*p.plane]
		src := in[ci*h*wd : (ci+1)*h*wd]
		for y := 0; y < p.rows; y++ {
			row := plane[y*p.rowLen : (y+1)*p.rowLen]
			iy := y - t
			if iy < 0 || iy >= h {
				clear(row)
				continue
			}
			line := src[iy*wd : (iy+1)*wd]
			for ph := 0; ph < g.sw; ph++ {
				dst := row[ph*p.cols : (ph+1)*p.cols]
				// Column j of this phase is input column j·sw + ph - l:
				// inside the image for lo ≤ j < hi.
				lo, hi := 0, min(p.cols, ceilDiv(wd+l-ph, g.sw))
				if l > ph {
					lo = min(ceilDiv(l-ph, g.sw), p.cols)
				}
				hi = max(hi, lo)
				clear(dst[:lo])
				clear(dst[hi:])
				if g.sw == 1 {
					copy(dst[lo:hi], line[lo-l:])
					continue
				}
				for j := lo; j < hi; j++ {
					dst[j] = line[j*g.sw+ph-l]
				}
			}
		}
	}
}

// padRowsAsm, when set (by the AVX2 dispatch), is padRows without the
// slack check; it may write up to 7 floats past the last row.
var padRowsAsm func(dst, src []float32, rows, w, srcLen, rowLen, left int)

// padRows copies rows rows of w floats (srcLen apart in src) into dst rows
// of rowLen floats at column left, zero elsewhere. dst needs planeSlack
// floats of slack past the last row, which it may overwrite.
func padRows(dst, src []float32, rows, w, srcLen, rowLen, left int) {
	if padRowsAsm != nil {
		_ = dst[rows*rowLen+planeSlack-1] // the rows and the slack
		_ = src[(rows-1)*srcLen+w-1]      // the last row read
		padRowsAsm(dst, src, rows, w, srcLen, rowLen, left)
		return
	}
	for y := 0; y < rows; y++ {
		row := dst[y*rowLen : (y+1)*rowLen]
		clear(row[:left])
		copy(row[left:left+w], src[y*srcLen:y*srcLen+w])
		clear(row[left+w:])
	}
}

// planeSlack is the room the padded copy keeps after each plane for the
// whole-vector stores of padRows and padPairs, so that copies of
// neighbouring planes, made by different workers, never overlap.
const planeSlack = 8

// padPairsAsm, when set (by the AVX2 dispatch), is padPairs without the
// slack check; it may write up to 7 floats past the last row.
var padPairsAsm func(dst, src []float32, rows, n, srcLen, rowLen, even0, odd0 int)

// padPairs is padRows for stride 2: each dst row of rowLen floats is
// zeroed, then the row's first n floats (srcLen apart in src) are split:
// the even ones to column even0 on, the odd ones to column odd0 on. dst
// needs the same slack as for padRows.
func padPairs(dst, src []float32, rows, n, srcLen, rowLen, even0, odd0 int) {
	if padPairsAsm != nil {
		_ = dst[rows*rowLen+planeSlack-1]
		_ = src[(rows-1)*srcLen+n-1]
		padPairsAsm(dst, src, rows, n, srcLen, rowLen, even0, odd0)
		return
	}
	for y := 0; y < rows; y++ {
		row := dst[y*rowLen : (y+1)*rowLen]
		clear(row)
		line := src[y*srcLen : y*srcLen+n]
		ev, od := row[even0:even0+(n+1)/2], row[odd0:odd0+n/2]
		for i := range od {
			ev[i], od[i] = line[2*i], line[2*i+1]
		}
		if n%2 == 1 {
			ev[n/2] = line[n-1]
		}
	}
}

// planeBudget bounds, in floats, the input planes one pass of the plane
// kernel works through (64 KiB): forwardPlanar runs groups in chunks that
// fit, every output row of a chunk before the next, so that the rows the
// kernel reads stay in L1/L2 instead of streaming every plane per row.
const planeBudget = 1 << 14

// forwardPlanar checks every argument, then computes an NCHW layer in
// units of (image, chunk of groups): with at least as many units as
// workers each worker takes whole units, copying its own padded planes;
// else unit by unit, with the padded copy made by all workers (split by
// channel) and the output rows split among them. Every output is computed
// as with one worker, so the results are bit-identical.
func (g *geometry) forwardPlanar(k planeKernel, w, dst, src []float32, n, h, wd, workers int) error {
	oh, ow, err := g.check(dst, src, n, h, wd)
	if err != nil {
		return err
	}
	p := g.planes(h, wd, oh, ow)
	cinG, coutG := g.cin/g.groups, g.cout/g.groups
	chunk := g.groups // a shuffled layer's kernel runs every group at once
	if !g.wholeGroups {
		chunk = min(max(planeBudget/(cinG*p.plane), 1), g.groups)
	}
	chunks := ceilDiv(g.groups, chunk)
	perGroup := coutG * (1 + cinG*g.kh*g.kw) // packed floats
	// unit returns image img's input planes of chunk c (src itself or
	// copied into buf, channels c0 … c1-1 of them), the groups it holds,
	// and the rows function that computes output rows from … to-1 of it.
	unit := func(u int, buf *[]float32, c0, c1 int) (rows func(from, to int), in []float32, ng int) {
		img, c := u/chunks, u%chunks
		g0 := c * chunk
		ng = min(chunk, g.groups-g0)
		first := g0 * cinG // first input plane
		image := src[img*g.cin*h*wd : (img+1)*g.cin*h*wd]
		if p.direct {
			in = image[first*h*wd:]
		} else {
			in = grow(buf, ng*cinG*p.plane)
			g.fill(p, in, image[first*h*wd:], h, wd, c0, min(c1, ng*cinG))
		}
		out := dst[(img*g.cout+g0*coutG)*oh*ow : (img+1)*g.cout*oh*ow]
		wc := w[g0*perGroup:]
		return func(from, to int) {
			for oy := from; oy < to; oy++ {
				k(out[oy*ow:], in[oy*g.sh*p.rowLen:], wc, ow, g.dh*p.rowLen, p.phase, p.plane, oh*ow, ng)
			}
		}, in, ng
	}
	units := n * chunks
	workers = workersFor(workers, g.macs(n, oh, ow))
	if workers == 1 || units >= workers {
		splitRows(units, workers, func(from, to int) {
			buf := scratch.Get().(*[]float32)
			defer scratch.Put(buf)
			for u := from; u < to; u++ {
				rows, _, _ := unit(u, buf, 0, g.cin)
				rows(0, oh)
			}
		})
		return nil
	}
	buf := scratch.Get().(*[]float32)
	defer scratch.Put(buf)
	for u := 0; u < units; u++ {
		rows, in, ng := unit(u, buf, 0, 0) // sizes the copy, fills nothing
		if !p.direct {
			image := src[u/chunks*g.cin*h*wd:]
			first := u % chunks * chunk * cinG
			splitRows(ng*cinG, workers, func(c0, c1 int) { g.fill(p, in, image[first*h*wd:], h, wd, c0, c1) })
		}
		splitRows(oh, workers, rows)
	}
	return nil
}
