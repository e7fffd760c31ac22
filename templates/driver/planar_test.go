package driver

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// planar is an NCHW geometry named P, as convgen writes it for an NCHW
// layer (the packed-layout fields of the NHWC half are unused by
// packPlanar and forwardPlanar).
func planar(cin, cout, groups, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr int) *geometry {
	return &geometry{name: "P", cin: cin, cout: cout, groups: groups, kh: kh, kw: kw, sh: sh, sw: sw, dh: dh, dw: dw,
		pt: pt, pl: pl, pb: pb, pr: pr, bias: true, nchw: true}
}

// sentinel marks floats nobody may write.
const sentinel = float32(-7777)

func filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// TestPackPlanarOrder: the exact packed order for cin 4, cout 6, groups 2,
// 3x1 taps. Weight (o, ci, t) is o·100 + ci·10 + t (ci within the group),
// bias o is 1000 + o: per group, per block of chanTile channels (the last
// block takes the rest), the block's biases, then per input channel, per
// tap, one weight per channel of the block.
func TestPackPlanarOrder(t *testing.T) {
	g := planar(4, 6, 2, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0)
	weights := make([]float32, 6*2*3)
	for o := range 6 {
		for ci := range 2 {
			for tap := range 3 {
				weights[(o*2+ci)*3+tap] = float32(o*100 + ci*10 + tap)
			}
		}
	}
	bias := []float32{1000, 1001, 1002, 1003, 1004, 1005}
	want := map[int][]float32{
		1: {
			1000, 0, 1, 2, 10, 11, 12,
			1001, 100, 101, 102, 110, 111, 112,
			1002, 200, 201, 202, 210, 211, 212,
			1003, 300, 301, 302, 310, 311, 312,
			1004, 400, 401, 402, 410, 411, 412,
			1005, 500, 501, 502, 510, 511, 512,
		},
		2: {
			1000, 1001, 0, 100, 1, 101, 2, 102, 10, 110, 11, 111, 12, 112,
			1002, 200, 201, 202, 210, 211, 212, // the rest of group 0: one channel
			1003, 1004, 300, 400, 301, 401, 302, 402, 310, 410, 311, 411, 312, 412,
			1005, 500, 501, 502, 510, 511, 512,
		},
		4: { // wider than the group: one block of the group's 3 channels
			1000, 1001, 1002, 0, 100, 200, 1, 101, 201, 2, 102, 202, 10, 110, 210, 11, 111, 211, 12, 112, 212,
			1003, 1004, 1005, 300, 400, 500, 301, 401, 501, 302, 402, 502, 310, 410, 510, 311, 411, 511, 312, 412, 512,
		},
	}
	for _, tile := range []int{1, 2, 4} {
		got, err := g.packPlanar(weights, bias, tile)
		require.NoError(t, err)
		assert.Equal(t, want[tile], got, "chanTile %d", tile)
		assert.Len(t, got, g.cout*(1+g.cin/g.groups*g.kh*g.kw), "chanTile %d", tile)
	}

	// Without bias the bias slots are zero, everything else is unchanged.
	nb := *g
	nb.bias = false
	got, err := nb.packPlanar(weights, nil, 2)
	require.NoError(t, err)
	zeroBias := append([]float32(nil), want[2]...)
	for _, i := range []int{0, 1, 14, 21, 22, 35} {
		zeroBias[i] = 0
	}
	assert.Equal(t, zeroBias, got)
}

func TestPackPlanarErrors(t *testing.T) {
	g := planar(4, 6, 2, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0)
	_, err := g.packPlanar(make([]float32, 35), make([]float32, 6), 2)
	assert.EqualError(t, err, "NewP: weights has 35 elements, want cout·(cin/groups)·kh·kw = 6·2·3·1 = 36")
	_, err = g.packPlanar(make([]float32, 37), make([]float32, 6), 1)
	assert.EqualError(t, err, "NewP: weights has 37 elements, want cout·(cin/groups)·kh·kw = 6·2·3·1 = 36")
	_, err = g.packPlanar(make([]float32, 36), make([]float32, 5), 4)
	assert.EqualError(t, err, "NewP: bias has 5 elements, want cout = 6")
	_, err = g.packPlanar(make([]float32, 36), nil, 4)
	assert.EqualError(t, err, "NewP: bias has 0 elements, want cout = 6")
	nb := *g
	nb.bias = false
	_, err = nb.packPlanar(make([]float32, 36), make([]float32, 6), 1)
	assert.EqualError(t, err, "NewP: bias has 6 elements, want none: the layer has no bias (bias: false in the spec)")
}

// TestPackEmptyBias: a layer without bias takes a nil or an empty bias
// (the generated New functions document "bias must be nil or empty"), and
// both pack the same zeros. Known bug: pack and packPlanar test bias !=
// nil, not its length, and index an empty bias; skipped while it panics,
// must pass once fixed.
func TestPackEmptyBias(t *testing.T) {
	weights := iota32(6 * 2 * 3)
	for _, c := range []struct {
		name string
		pack func(bias []float32) ([]float32, error)
	}{
		{"packPlanar", func(bias []float32) ([]float32, error) {
			g := planar(4, 6, 2, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0)
			g.bias = false
			return g.packPlanar(weights, bias, 2)
		}},
		{"pack", func(bias []float32) ([]float32, error) {
			g := layer(4, 6, 2, 3, 1, 1, 1, false)
			g.kw, g.bias = 1, false
			return g.pack(weights, bias)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want, err := c.pack(nil)
			require.NoError(t, err)
			got, err := c.pack([]float32{})
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

// TestPlanes: straight from src only when no tap leaves the image and the
// columns are unit-strided; else a padded copy of rows of sw·cols floats.
func TestPlanes(t *testing.T) {
	same := func(g *geometry) *geometry { g.same = true; return g }
	for _, c := range []struct {
		name string
		g    *geometry
		h, w int
		want planes
	}{
		{"no pad, stride 1", planar(2, 2, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0), 7, 7,
			planes{direct: true, rowLen: 7, plane: 49}},
		{"no pad, vertical stride 2", planar(2, 2, 1, 3, 3, 2, 1, 1, 1, 0, 0, 0, 0), 7, 6,
			planes{direct: true, rowLen: 6, plane: 42}},
		// 5 rows + 1 bottom pad, stride 2: oh 2 reads rows 0…4, never the pad.
		{"unreached bottom pad", planar(2, 2, 1, 3, 3, 2, 1, 1, 1, 0, 0, 1, 0), 5, 6,
			planes{direct: true, rowLen: 6, plane: 30}},
		// oh 5, ow 6: rows 7, width 8.
		{"pad 1", planar(2, 2, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), 5, 6,
			planes{rows: 7, cols: 8, rowLen: 8, plane: 7*8 + planeSlack, phase: 8}},
		{"left pad only", planar(2, 2, 1, 1, 3, 1, 1, 1, 1, 0, 1, 0, 0), 2, 4,
			planes{rows: 2, cols: 5, rowLen: 5, plane: 2*5 + planeSlack, phase: 5}},
		// oh 3, ow 4: rows 7, width 9, 5 columns per phase.
		{"stride 2, no pad", planar(2, 2, 1, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0), 7, 9,
			planes{rows: 7, cols: 5, rowLen: 10, plane: 7*10 + planeSlack, phase: 5}},
		// span 5, padded width 12, ow 3: width 11, 4 columns per phase.
		{"stride 3, dilation 2, left pad 2", planar(2, 2, 1, 1, 3, 1, 3, 1, 2, 0, 2, 0, 0), 2, 10,
			planes{rows: 2, cols: 4, rowLen: 12, plane: 2*12 + planeSlack, phase: 4}},
		// SAME, 4x4, k 2: pads 0 before, 1 after: no top or left pad, yet
		// the last row and column are padding.
		{"same with pads only after", same(planar(2, 2, 1, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0)), 4, 4,
			planes{rows: 5, cols: 5, rowLen: 5, plane: 25 + planeSlack, phase: 5}},
	} {
		t.Run(c.name, func(t *testing.T) {
			oh, ow := c.g.outputSize(c.h, c.w)
			require.True(t, oh > 0 && ow > 0)
			assert.Equal(t, c.want, c.g.planes(c.h, c.w, oh, ow))
		})
	}

	// Every geometry: the copy holds every tap of every output pixel, at
	// column x + (kx·dw)/sw of phase (kx·dw)%sw, inside the row; a direct
	// plane is only used where every tap lies in the image.
	for sw := 1; sw <= 3; sw++ {
		for dw := 1; dw <= 3; dw++ {
			for kw := 1; kw <= 4; kw++ {
				for pl := 0; pl < min(3, (kw-1)*dw+1); pl++ {
					for wd := 1; wd <= 12; wd++ {
						g := planar(1, 1, 1, 2, kw, 1, sw, 1, dw, 0, pl, 1, 0)
						oh, ow := g.outputSize(3, wd)
						if ow < 1 {
							continue
						}
						p := g.planes(3, wd, oh, ow)
						name := fmt.Sprintf("sw%d dw%d kw%d pl%d w%d", sw, dw, kw, pl, wd)
						require.False(t, p.direct, name) // the bottom pad is read
						assert.Equal(t, (oh-1)+g.spanH(), p.rows, name)
						assert.Equal(t, sw*p.cols, p.rowLen, name)
						assert.Equal(t, p.cols, p.phase, name)
						assert.Equal(t, p.rows*p.rowLen+planeSlack, p.plane, name)
						assert.GreaterOrEqual(t, p.rowLen, (ow-1)*sw+g.spanW(), name)
						assert.Less(t, p.rowLen-(ow-1)*sw-g.spanW(), sw, name)
						for kx := range kw {
							assert.Less(t, ow-1+kx*dw/sw, p.cols, "%s kx %d", name, kx)
						}
					}
				}
			}
		}
	}
}

// padRef is the padded, phase-split copy written out plainly: column x of
// padded row y (input column x-l of input row y-t, zero outside the image)
// goes to phase x%sw, column x/sw. It covers the rows of every plane, not
// the slack.
func padRef(g *geometry, p planes, in []float32, h, wd, c0, c1 int) map[int]float32 {
	t, l, _, _ := g.pads(h, wd)
	ref := map[int]float32{}
	for ci := c0; ci < c1; ci++ {
		for y := 0; y < p.rows; y++ {
			for x := 0; x < p.rowLen; x++ {
				v := float32(0)
				if iy, ix := y-t, x-l; iy >= 0 && iy < h && ix >= 0 && ix < wd {
					v = in[(ci*h+iy)*wd+ix]
				}
				ref[ci*p.plane+y*p.rowLen+x%g.sw*p.cols+x/g.sw] = v
			}
		}
	}
	return ref
}

// checkFill compares buf with the reference for planes c0 … c1-1 and
// checks that no other float of buf outside those planes' slack changed.
func checkFill(t *testing.T, name string, g *geometry, p planes, buf, in []float32, h, wd, c0, c1 int) bool {
	t.Helper()
	ref := padRef(g, p, in, h, wd, c0, c1)
	for i, v := range buf {
		want, inRows := ref[i]
		switch {
		case inRows && v != want:
			t.Errorf("%s: buf[%d] (plane %d, offset %d) = %v, want %v", name, i, i/p.plane, i%p.plane, v, want)
			return false
		case !inRows && v != sentinel && (i >= c1*p.plane || i < c0*p.plane):
			t.Errorf("%s: buf[%d] (plane %d) outside planes %d…%d was written: %v", name, i, i/p.plane, c0, c1-1, v)
			return false
		}
	}
	return true
}

func iota32(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i + 1)
	}
	return s
}

// fillCases calls do for every stride 1, 2 and 3, pads 0…3 left and
// right, widths 1…20 and a few heights and vertical pads.
func fillCases(do func(name string, g *geometry, h, wd int)) {
	for sw := 1; sw <= 3; sw++ {
		for pl := 0; pl <= 3; pl++ {
			for pr := 0; pr <= 3; pr++ {
				for _, vert := range [][3]int{{0, 0, 1}, {2, 1, 2}, {1, 2, 4}, {0, 2, 3}} {
					pt, pb, h := vert[0], vert[1], vert[2]
					for wd := 1; wd <= 20; wd++ {
						// kw 4 (span 4) or kw 3 dilation 2 (span 5): every pad is below the span.
						kw, dw := 4, 1
						if wd%2 == 0 {
							kw, dw = 3, 2
						}
						g := planar(3, 3, 1, 2, kw, 1+pt%2, sw, 2, dw, pt, pl, pb, pr)
						if oh, ow := g.outputSize(h, wd); oh < 1 || ow < 1 {
							continue
						}
						do(fmt.Sprintf("sw%d pad t%d l%d b%d r%d kw%d dw%d %dx%d", sw, pt, pl, pb, pr, kw, dw, h, wd), g, h, wd)
					}
				}
			}
		}
	}
}

// TestFillMatchesReference: the Go path (no AVX2 helpers) of fill against
// the plain reference, for every plane of the image.
func TestFillMatchesReference(t *testing.T) {
	require.Nil(t, padRowsAsm)
	require.Nil(t, padPairsAsm)
	n := 0
	fillCases(func(name string, g *geometry, h, wd int) {
		n++
		oh, ow := g.outputSize(h, wd)
		p := g.planes(h, wd, oh, ow)
		require.False(t, p.direct, name)
		in := iota32(g.cin * h * wd)
		buf := filled(g.cin*p.plane, sentinel)
		g.fill(p, buf, in, h, wd, 0, g.cin)
		if !checkFill(t, name, g, p, buf, in, h, wd, 0, g.cin) {
			t.FailNow()
		}
		// Filling again over stale data gives the same planes.
		for i := range buf {
			buf[i] = float32(-i)
		}
		g.fill(p, buf, in, h, wd, 0, g.cin)
		for k, v := range padRef(g, p, in, h, wd, 0, g.cin) {
			if buf[k] != v {
				t.Fatalf("%s: refill over stale data: buf[%d] = %v, want %v", name, k, buf[k], v)
			}
		}
	})
	assert.Greater(t, n, 2000)
}

// TestFillChannelRange: fill of planes c0 … c1-1 writes those planes (and
// at most their slack) and leaves every other plane untouched.
func TestFillChannelRange(t *testing.T) {
	for _, sw := range []int{1, 2, 3} {
		g := planar(5, 5, 1, 3, 3, 1, sw, 1, 1, 1, 2, 1, 0)
		const h, wd = 4, 11
		oh, ow := g.outputSize(h, wd)
		p := g.planes(h, wd, oh, ow)
		in := iota32(g.cin * h * wd)
		for _, r := range [][2]int{{1, 3}, {0, 1}, {4, 5}, {2, 2}} {
			buf := filled(g.cin*p.plane+16, sentinel) // and a guard after the last plane
			g.fill(p, buf, in, h, wd, r[0], r[1])
			checkFill(t, fmt.Sprintf("sw%d planes %d…%d", sw, r[0], r[1]-1), g, p, buf, in, h, wd, r[0], r[1])
		}
	}
}

// padRowsRef and padPairsRef are padRows and padPairs written out plainly.
func padRowsRef(rows, w, srcLen, rowLen, left int, src []float32) []float32 {
	out := make([]float32, rows*rowLen)
	for y := range rows {
		for i := range w {
			out[y*rowLen+left+i] = src[y*srcLen+i]
		}
	}
	return out
}

func padPairsRef(rows, n, srcLen, rowLen, even0, odd0 int, src []float32) []float32 {
	out := make([]float32, rows*rowLen)
	for y := range rows {
		for i := range n {
			if i%2 == 0 {
				out[y*rowLen+even0+i/2] = src[y*srcLen+i]
			} else {
				out[y*rowLen+odd0+i/2] = src[y*srcLen+i]
			}
		}
	}
	return out
}

// TestPadRowsGo: the Go padRows writes exactly rows·rowLen floats: the
// row at column left, zeros around it.
func TestPadRowsGo(t *testing.T) {
	require.Nil(t, padRowsAsm)
	for rows := 1; rows <= 3; rows++ {
		for w := 1; w <= 19; w++ {
			for left := 0; left <= 3; left++ {
				for _, right := range []int{0, 1, 3} {
					rowLen, srcLen := left+w+right, w+2
					src := iota32((rows-1)*srcLen + w) // exactly what is read
					dst := filled(rows*rowLen+planeSlack, sentinel)
					padRows(dst, src, rows, w, srcLen, rowLen, left)
					name := fmt.Sprintf("rows %d w %d left %d right %d", rows, w, left, right)
					require.Equal(t, padRowsRef(rows, w, srcLen, rowLen, left, src), dst[:rows*rowLen], name)
					require.Equal(t, filled(planeSlack, sentinel), dst[rows*rowLen:], name+": the Go path wrote into the slack")
				}
			}
		}
	}
}

// TestPadPairsGo: the Go padPairs splits the first n floats of each row,
// even ones from even0, odd ones from odd0, zeros elsewhere in the row;
// n odd leaves one more even float than odd ones.
func TestPadPairsGo(t *testing.T) {
	require.Nil(t, padPairsAsm)
	for rows := 1; rows <= 3; rows++ {
		for n := 1; n <= 19; n++ {
			for left := 0; left <= 3; left++ {
				// As fill lays out stride 2 with left pad left: cols per phase.
				cols := (left+n+1)/2 + 1
				even0, odd0 := left/2, cols+(left+1)/2
				if left%2 == 1 {
					even0, odd0 = cols+left/2, (left+1)/2
				}
				rowLen, srcLen := 2*cols, n+3
				src := iota32((rows-1)*srcLen + n)
				dst := filled(rows*rowLen+planeSlack, sentinel)
				padPairs(dst, src, rows, n, srcLen, rowLen, even0, odd0)
				name := fmt.Sprintf("rows %d n %d left %d", rows, n, left)
				want := padPairsRef(rows, n, srcLen, rowLen, even0, odd0, src)
				require.Equal(t, want, dst[:rows*rowLen], name)
				require.Equal(t, filled(planeSlack, sentinel), dst[rows*rowLen:], name+": the Go path wrote into the slack")
				// The split is the padded row: column c of the padded row
				// (input c-left) is at phase c%2, column c/2.
				for y := range rows {
					for i := range n {
						c := left + i
						assert.Equal(t, src[y*srcLen+i], dst[y*rowLen+c%2*cols+c/2], "%s: row %d input %d", name, y, i)
					}
				}
			}
		}
	}
}

// TestPadSlackContract: with the AVX2 helpers set, padRows and padPairs
// refuse (panic on the bounds check) a dst without planeSlack floats past
// the last row, or a src shorter than the last row read, before calling
// the helper, which may write up to 7 floats past the last row.
func TestPadSlackContract(t *testing.T) {
	defer func(r func(dst, src []float32, rows, w, srcLen, rowLen, left int), p func(dst, src []float32, rows, n, srcLen, rowLen, even0, odd0 int)) {
		padRowsAsm, padPairsAsm = r, p
	}(padRowsAsm, padPairsAsm)
	calls := 0
	padRowsAsm = func(dst, src []float32, rows, w, srcLen, rowLen, left int) { calls++ }
	padPairsAsm = func(dst, src []float32, rows, n, srcLen, rowLen, even0, odd0 int) { calls++ }
	const rows, w, srcLen, rowLen = 3, 5, 7, 9
	src := make([]float32, (rows-1)*srcLen+w)

	padRows(make([]float32, rows*rowLen+planeSlack), src, rows, w, srcLen, rowLen, 2)
	padPairs(make([]float32, rows*rowLen+planeSlack), src, rows, w, srcLen, rowLen, 0, 5)
	assert.Equal(t, 2, calls)
	assert.Panics(t, func() { padRows(make([]float32, rows*rowLen+planeSlack-1), src, rows, w, srcLen, rowLen, 2) })
	assert.Panics(t, func() { padPairs(make([]float32, rows*rowLen+planeSlack-1), src, rows, w, srcLen, rowLen, 0, 5) })
	assert.Panics(t, func() { padRows(make([]float32, rows*rowLen+planeSlack), src[:len(src)-1], rows, w, srcLen, rowLen, 2) })
	assert.Panics(t, func() {
		padPairs(make([]float32, rows*rowLen+planeSlack), src[:len(src)-1], rows, w, srcLen, rowLen, 0, 5)
	})
	assert.Equal(t, 2, calls, "a helper was called on a too short slice")
}

// TestFillWithScribblingHelpers: fill gives the copy helpers their slack
// and clears after them. Helpers that compute the right rows and then
// write 7 floats of garbage past the last row (what the AVX2 ones may do)
// still give the reference planes, and a channel range still leaves the
// other planes untouched.
func TestFillWithScribblingHelpers(t *testing.T) {
	defer func(r func(dst, src []float32, rows, w, srcLen, rowLen, left int), p func(dst, src []float32, rows, n, srcLen, rowLen, even0, odd0 int)) {
		padRowsAsm, padPairsAsm = r, p
	}(padRowsAsm, padPairsAsm)
	const garbage = float32(4242)
	padRowsAsm = func(dst, src []float32, rows, w, srcLen, rowLen, left int) {
		copy(dst, padRowsRef(rows, w, srcLen, rowLen, left, src))
		for i := range planeSlack - 1 {
			dst[rows*rowLen+i] = garbage
		}
	}
	padPairsAsm = func(dst, src []float32, rows, n, srcLen, rowLen, even0, odd0 int) {
		copy(dst, padPairsRef(rows, n, srcLen, rowLen, even0, odd0, src))
		for i := range planeSlack - 1 {
			dst[rows*rowLen+i] = garbage
		}
	}
	fillCases(func(name string, g *geometry, h, wd int) {
		oh, ow := g.outputSize(h, wd)
		p := g.planes(h, wd, oh, ow)
		in := iota32(g.cin * h * wd)
		for _, r := range [][2]int{{0, g.cin}, {1, 2}} {
			buf := filled(g.cin*p.plane, sentinel)
			g.fill(p, buf, in, h, wd, r[0], r[1])
			if !checkFill(t, fmt.Sprintf("%s planes %d…%d", name, r[0], r[1]-1), g, p, buf, in, h, wd, r[0], r[1]) {
				t.FailNow()
			}
		}
	})
}

// testPlaneKernel is the planeKernel contract written out plainly over
// packPlanar's layout with chanTile channels per block: what every
// generated NCHW kernel must compute (without a clamp).
func testPlaneKernel(g *geometry, chanTile int) planeKernel {
	return func(dst, src, w []float32, count, rowStride, phaseStride, srcPlane, dstPlane, groups int) {
		if g.wholeGroups {
			groups = g.groups
		}
		cinG, coutG, taps := g.cin/g.groups, g.cout/g.groups, g.kh*g.kw
		wp := 0
		for grp := range groups {
			for b := 0; b < coutG; b += chanTile {
				co := min(chanTile, coutG-b)
				for j := range co {
					o := grp*coutG + b + j
					for x := range count {
						acc := w[wp+j]
						for ci := range cinG {
							in := src[(grp*cinG+ci)*srcPlane:]
							for ky := range g.kh {
								for kx := range g.kw {
									col := kx * g.dw
									v := in[ky*rowStride+col%g.sw*phaseStride+x+col/g.sw]
									acc += v * w[wp+co+((ci*taps)+ky*g.kw+kx)*co+j]
								}
							}
						}
						dst[o*dstPlane+x] = acc
					}
				}
				wp += co * (1 + cinG*taps)
			}
		}
	}
}

// naiveNCHW is the textbook NCHW convolution.
func naiveNCHW(g *geometry, weights, bias, src []float32, n, h, w int) []float32 {
	oh, ow := g.outputSize(h, w)
	pt, pl, _, _ := g.pads(h, w)
	cinG, coutG := g.cin/g.groups, g.cout/g.groups
	out := make([]float32, n*g.cout*oh*ow)
	for b := range n {
		for o := range g.cout {
			grp := o / coutG
			for oy := range oh {
				for ox := range ow {
					var acc float32
					if bias != nil {
						acc = bias[o]
					}
					for ci := range cinG {
						for ky := range g.kh {
							for kx := range g.kw {
								iy, ix := oy*g.sh-pt+ky*g.dh, ox*g.sw-pl+kx*g.dw
								if iy < 0 || iy >= h || ix < 0 || ix >= w {
									continue
								}
								acc += src[((b*g.cin+grp*cinG+ci)*h+iy)*w+ix] * weights[((o*cinG+ci)*g.kh+ky)*g.kw+kx]
							}
						}
					}
					out[((b*g.cout+o)*oh+oy)*ow+ox] = acc
				}
			}
		}
	}
	return out
}

// planarCase is one forwardPlanar shape and the image sizes and packing
// tiles it runs with.
type planarCase struct {
	g     *geometry
	sizes [][2]int
	tiles []int
}

// planarCases: direct and copied planes, strides 1 to 3, dilation,
// asymmetric pads, TF same, groups in one chunk and in several (the last
// one short, with several channels per group), a kernel that runs every
// group at once, and two layers heavy enough (over a million MACs per
// image) for forwardPlanar to use more than one worker.
func planarCases() []planarCase {
	small := [][2]int{{1, 1}, {2, 3}, {5, 4}, {7, 9}, {6, 13}}
	all := []int{1, 2, 4}
	same := planar(6, 4, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0)
	same.same = true
	whole := planar(48, 48, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1)
	whole.wholeGroups = true
	return []planarCase{
		{planar(6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), small, all},  // depthwise, padded
		{planar(8, 12, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1), small, all}, // grouped, stride 2
		{planar(3, 5, 1, 3, 5, 1, 1, 2, 2, 2, 0, 1, 3), small, all},  // dense, dilated, asymmetric pads
		{planar(4, 6, 2, 2, 4, 1, 3, 1, 1, 0, 2, 1, 1), small, all},  // stride 3 columns
		{planar(4, 4, 2, 2, 3, 2, 1, 1, 1, 0, 0, 0, 0), small, all},  // direct: no pad, unit column stride
		{planar(2, 6, 1, 1, 1, 1, 2, 1, 1, 0, 0, 0, 0), small, all},  // 1x1, stride 2
		{same, small, all}, // TF same, stride 2
		{planar(4, 8, 4, 3, 2, 3, 2, 1, 3, 1, 2, 0, 1), small, all},                       // stride 3 rows, dilated stride 2 columns
		{planar(48, 48, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), [][2]int{{18, 18}}, all},       // chunks of 40 and 8 groups
		{planar(48, 48, 48, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0), [][2]int{{20, 20}}, all},       // chunks of 40 and 8 groups, direct
		{whole, [][2]int{{18, 18}, {3, 2}}, all},                                          // one call for every group
		{planar(16, 32, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), [][2]int{{24, 24}}, []int{4}},   // 2.7M MACs per image
		{planar(26, 104, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), [][2]int{{30, 30}}, []int{4}}, // 1.7M MACs, chunks of 7 and 6 groups of 8 channels
	}
}

// TestForwardPlanarMatchesNaive runs forwardPlanar with testPlaneKernel
// on planarCases with 1 to 3 images and 1, 2, 3 and 8 workers against the
// naive NCHW convolution with exact integer data. Every worker count gives
// the same bits, nothing past the output is written and src is not
// modified. Before each call a call on other data leaves stale planes in
// the pooled buffers, which the call must overwrite. The heavy cases reach
// both ways of running in parallel (whole units per worker; one unit at a
// time, split among the workers, with several images and several chunks).
func TestForwardPlanarMatchesNaive(t *testing.T) {
	require.Nil(t, padRowsAsm)
	require.Nil(t, padPairsAsm)
	rng := rand.New(rand.NewPCG(3, 3))
	chunked, paths := 0, map[string]bool{}
	for si, s := range planarCases() {
		g := s.g
		for _, hw := range s.sizes {
			h, w := hw[0], hw[1]
			for _, tile := range s.tiles {
				name := fmt.Sprintf("case%d_c%d_%d_g%d_k%dx%d_s%dx%d_d%dx%d_%dx%d_tile%d", si, g.cin, g.cout, g.groups, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, h, w, tile)
				t.Run(name, func(t *testing.T) {
					oh, ow := g.outputSize(h, w)
					weights := ints(rng, g.cout*g.cin/g.groups*g.kh*g.kw, 3)
					bias := ints(rng, g.cout, 5)
					packed, err := g.packPlanar(weights, bias, tile)
					require.NoError(t, err)
					k := testPlaneKernel(g, tile)
					if oh < 1 || ow < 1 {
						err := g.forwardPlanar(k, packed, make([]float32, 64), make([]float32, 3*h*w*g.cin), 3, h, w, 1)
						require.ErrorContains(t, err, "P.Forward: input")
						return
					}
					p := g.planes(h, w, oh, ow)
					chunks := 1
					if !g.wholeGroups {
						chunks = ceilDiv(g.groups, min(max(planeBudget/(g.cin/g.groups*p.plane), 1), g.groups))
					}
					if chunks > 1 {
						chunked++
					}
					for n := 1; n <= 3; n++ {
						src := ints(rng, n*g.cin*h*w, 3)
						other := ints(rng, n*g.cin*h*w, 3)
						orig := append([]float32(nil), src...)
						want := naiveNCHW(g, weights, bias, src, n, h, w)
						var first []float32
						for _, workers := range []int{1, 2, 3, 8} {
							switch used := workersFor(workers, g.macs(n, oh, ow)); {
							case used == 1:
							case n*chunks >= used:
								paths["whole units"] = true
							default:
								paths["split"] = true
								paths[fmt.Sprintf("split, p.direct=%v n>1=%v chunks>1=%v", p.direct, n > 1, chunks > 1)] = true
							}
							require.NoError(t, g.forwardPlanar(k, packed, make([]float32, len(want)), other, n, h, w, workers))
							dst := filled(len(want)+9, sentinel)
							require.NoError(t, g.forwardPlanar(k, packed, dst, src, n, h, w, workers))
							require.Equal(t, want, dst[:len(want)], "n=%d workers=%d", n, workers)
							require.Equal(t, filled(9, sentinel), dst[len(want):], "n=%d workers=%d: written past the output", n, workers)
							require.Equal(t, orig, src, "src was modified")
							if first == nil {
								first = dst
							}
							require.Equal(t, first, dst, "n=%d: workers=%d differs from workers=1", n, workers)
						}
					}
				})
			}
		}
	}
	assert.Greater(t, chunked, 0, "no case ran in several chunks of groups")
	for _, path := range []string{"whole units", "split", "split, p.direct=false n>1=true chunks>1=true", "split, p.direct=false n>1=false chunks>1=false"} {
		assert.True(t, paths[path], "no case reached %q: %v", path, paths)
	}
}

// TestForwardPlanarChunks: the chunking shapes above are what they claim:
// several chunks with a short last one, or one call for every group.
func TestForwardPlanarChunks(t *testing.T) {
	g := planar(48, 48, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1)
	p := g.planes(18, 18, 18, 18)
	chunk := planeBudget / p.plane
	assert.True(t, chunk > 1 && chunk < 48 && 48%chunk != 0, "chunk %d", chunk)
	d := planar(48, 48, 48, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0)
	p = d.planes(20, 20, 18, 18)
	require.True(t, p.direct)
	chunk = planeBudget / p.plane
	assert.True(t, chunk > 1 && chunk < 48 && 48%chunk != 0, "chunk %d", chunk)

	// A kernel that runs every group at once is called once per output
	// row, with all groups from the first; a chunked one several times.
	for _, whole := range []bool{false, true} {
		g := planar(48, 48, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1)
		g.wholeGroups = whole
		calls, firstGroups := 0, 0
		k := func(dst, src, w []float32, count, rowStride, phaseStride, srcPlane, dstPlane, groups int) {
			if calls == 0 {
				firstGroups = groups
			}
			calls++
		}
		packed, err := g.packPlanar(make([]float32, 48*9), make([]float32, 48), 4)
		require.NoError(t, err)
		require.NoError(t, g.forwardPlanar(k, packed, make([]float32, 48*18*18), make([]float32, 48*18*18), 1, 18, 18, 1))
		if whole {
			assert.Equal(t, 18, calls)
			assert.Equal(t, 48, firstGroups)
		} else {
			// Planes of 20·20+8 floats: 40 groups per chunk, then 8.
			assert.Equal(t, 2*18, calls)
			assert.Equal(t, 40, firstGroups)
		}
	}
}

// TestForwardPlanarErrors: forwardPlanar checks its arguments as forward
// does, before touching anything.
func TestForwardPlanarErrors(t *testing.T) {
	g := planar(4, 6, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1)
	packed, err := g.packPlanar(make([]float32, 6*2*9), make([]float32, 6), 2)
	require.NoError(t, err)
	called := false
	k := func(dst, src, w []float32, count, rowStride, phaseStride, srcPlane, dstPlane, groups int) {
		called = true
	}
	for _, c := range []struct {
		dst, src []float32
		n, h, w  int
		want     string
	}{
		{make([]float32, 6*16), make([]float32, 4*16), 0, 4, 4, "P.Forward: n=0: must be between 1"},
		{make([]float32, 6*16), make([]float32, 4*16-1), 1, 4, 4, "P.Forward: src has 63 elements, want n·cin·h·w = 1·4·4·4 = 64"},
		{make([]float32, 6*16-1), make([]float32, 4*16), 1, 4, 4, "P.Forward: dst has 95 elements, want n·cout·oh·ow = 1·6·4·4 = 96"},
		{make([]float32, 6*16), make([]float32, 4*16), 1, 4, 0, "P.Forward: w=0"},
		{nil, nil, 1 << 23, 1 << 23, 1 << 23, "P.Forward: n·cin·h·w = 8388608·4·8388608·8388608 overflows int"},
	} {
		err := g.forwardPlanar(k, packed, c.dst, c.src, c.n, c.h, c.w, 2)
		assert.ErrorContains(t, err, c.want)
	}
	buf := make([]float32, 200)
	err = g.forwardPlanar(k, packed, buf[:96], buf[50:114], 1, 4, 4, 1)
	assert.EqualError(t, err, "P.Forward: dst and src overlap: Forward does not work in place")
	g2 := planar(1, 1, 1, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0)
	err = g2.forwardPlanar(k, []float32{0}, make([]float32, 16), make([]float32, 16), 1, 4, 4, 1)
	assert.ErrorContains(t, err, "P.Forward: input 4x4 is smaller than the kernel span 5x5")
	assert.False(t, called, "the kernel ran on refused arguments")
}
