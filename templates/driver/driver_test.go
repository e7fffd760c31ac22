package driver

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// genericKernel is the row-kernel contract written out plainly over the
// packed layout: what every generated kernel must compute.
func genericKernel(g *geometry) rowKernel {
	return contractKernel(g, func(p, ky, kx, rowStride int) (int, bool) {
		return p*g.sw*g.cin + ky*rowStride + kx*g.dw*g.cin, true
	})
}

// framedKernel is the framed-kernel contract (see frame): f's row (or
// rows), its tap rows from src, only the taps inside the row. It counts
// its calls and fails t if count is not the row's width or dst is shorter
// than its rows.
func framedKernel(t *testing.T, g *geometry, f frame, calls *atomic.Int64) rowKernel {
	k := contractKernel(g, func(p, ky, kx, rowStride int) (int, bool) {
		col := p*g.sw - f.pl + kx*g.dw
		if ky < f.lo || ky >= f.hi || col < 0 || col >= f.wd {
			return 0, false
		}
		return (ky-f.lo)*rowStride + col*g.cin, true
	})
	rows := max(f.rows, 1)
	return func(dst, src, w []float32, count, rowStride int) {
		calls.Add(1)
		assert.Equal(t, f.ow, count)
		require.GreaterOrEqual(t, len(dst), (rows-1)*count*g.cout+1)
		for r := 0; r < rows; r++ {
			// Row r's taps start sh input rows (rowStride with no dilation) further.
			k(dst[r*count*g.cout:], src[r*f.sh*rowStride:], w, count, rowStride)
		}
	}
}

// contractKernel computes count pixels over the packed layout; tap gives
// the offset in src of pixel p's tap (ky, kx), and whether it is computed.
func contractKernel(g *geometry, tap func(p, ky, kx, rowStride int) (int, bool)) rowKernel {
	depthwise := g.packGroups == 1 && g.packCin == 1 && g.groups == g.cin && g.groups > 1
	return func(dst, src, w []float32, count, rowStride int) {
		taps := g.kh * g.kw
		for p := 0; p < count; p++ {
			wp := 0
			for grp := 0; grp < g.packGroups; grp++ {
				if g.ranged && wp == len(w) {
					break // a range of groups (see rangeUnit) ends here
				}
				o0 := 0
				for _, nv := range g.blocks() {
					if g.ranged && wp == len(w) {
						break // a range of depthwise blocks ends here
					}
					n := nv * lanes
					for l := 0; l < n && o0+l < g.packCout; l++ {
						o := grp*g.packCout + o0 + l
						acc := w[wp+l]
						for ci := 0; ci < g.packCin; ci++ {
							ch := grp*g.packCin + ci
							if depthwise {
								ch = o
							}
							for ky := 0; ky < g.kh; ky++ {
								for kx := 0; kx < g.kw; kx++ {
									if at, ok := tap(p, ky, kx, rowStride); ok {
										acc += src[at+ch] * w[wp+n+(ci*taps+ky*g.kw+kx)*n+l]
									}
								}
							}
						}
						dst[p*g.cout+o] = acc
					}
					wp += n * (1 + g.packCin*taps)
					o0 += n
				}
			}
		}
	}
}

// naive is the textbook convolution, for comparison.
func naive(g *geometry, weights, bias, src []float32, n, h, w int) []float32 {
	oh, ow := g.outputSize(h, w)
	pt, pl, _, _ := g.pads(h, w)
	cinG, coutG := g.cin/g.groups, g.cout/g.groups
	out := make([]float32, n*oh*ow*g.cout)
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for o := 0; o < g.cout; o++ {
					var acc float32
					if bias != nil {
						acc = bias[o]
					}
					grp := o / coutG
					for ci := 0; ci < cinG; ci++ {
						for ky := 0; ky < g.kh; ky++ {
							for kx := 0; kx < g.kw; kx++ {
								iy, ix := oy*g.sh-pt+ky*g.dh, ox*g.sw-pl+kx*g.dw
								if iy < 0 || iy >= h || ix < 0 || ix >= w {
									continue
								}
								acc += src[((b*h+iy)*w+ix)*g.cin+grp*cinG+ci] * weights[((o*cinG+ci)*g.kh+ky)*g.kw+kx]
							}
						}
					}
					out[((b*oh+oy)*ow+ox)*g.cout+o] = acc
				}
			}
		}
	}
	return out
}

func ints(rng *rand.Rand, n, lim int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.IntN(2*lim+1) - lim)
	}
	return s
}

func layer(cin, cout, groups, k, stride, dil, pad int, same bool) *geometry {
	g := &geometry{name: "T", cin: cin, cout: cout, groups: groups, kh: k, kw: k + 1, sh: stride, sw: stride,
		dh: dil, dw: dil, pt: pad, pl: pad + 1, pb: pad, pr: pad, same: same, bias: true, blockVecs: 2}
	if groups == cin && cout == cin && groups > 1 {
		g.packGroups, g.packCin, g.packCout = 1, 1, cout
	} else {
		g.packGroups, g.packCin, g.packCout = groups, cin/groups, cout/groups
	}
	g.ranged = groups > 1 // as the generator marks them (see rangeUnit)
	return g
}

// TestForwardMatchesNaive drives the row walk (interior runs, bands,
// patches) and the packing over many shapes and sizes with exact integer
// data.
func TestForwardMatchesNaive(t *testing.T) {
	t.Run("default", testForwardMatchesNaive)
	t.Run("no whole-image copy", func(t *testing.T) {
		defer func(v float64) { padWholeMax = v }(padWholeMax)
		padWholeMax = 0
		testForwardMatchesNaive(t)
	})
	t.Run("copies in strips of a few rows", func(t *testing.T) {
		defer func(v float64) { padWholeMax = v }(padWholeMax)
		padWholeMax = 1500 // 4–6 padded rows of the wider test shapes
		testForwardMatchesNaive(t)
	})
	// Grouped layers, and depthwise ones whose blocks divide the channels,
	// one unit per range: through the copies, then the row walk in bands.
	t.Run("channel ranges", func(t *testing.T) {
		defer saveWalk().restore()
		rangeBytes, rangeWeightBytes = 1, 1
		testForwardMatchesNaive(t)
		padWholeMax, bandFloats = 0, 600
		testForwardMatchesNaive(t)
	})
}

// TestWalkRanges: a depthwise layer whose three input rows overflow L1
// runs in channel ranges of 24 KiB of tap rows, over bands of rows whose
// input fits bandFloats; one whose rows fit runs whole.
func TestWalkRanges(t *testing.T) {
	g := layer(144, 144, 144, 3, 1, 1, 1, false)
	g.kw = 3
	oh, ow, err := g.check(make([]float32, 1<<20), make([]float32, 1<<20), 1, 56, 56)
	require.NoError(t, err)
	r := g.walk(genericKernel(g), nil, nil, nil, 56, 56, oh, ow)
	// A block of 16 channels reads 3 rows of 58 pixels (11136 bytes) and
	// 160 weights (640): 24 KiB holds 2 blocks. 65536 floats hold 7 input
	// rows of 58·144: 5 output rows.
	assert.Equal(t, unit{out: 16, in: 16, w: 160}, r.unit)
	assert.Equal(t, 2, r.chunk)
	assert.Equal(t, 5, r.band)
	// ResNeXt's 14×14 stage: 32 groups of 16·(1+16·12) weights, 386 KiB,
	// run whole; AlexNet's second layer, 2 groups of 128·(1+48·30), 2.2 MiB,
	// one group per range.
	g = layer(512, 512, 32, 3, 1, 1, 1, false)
	oh, ow, err = g.check(make([]float32, 1<<20), make([]float32, 1<<20), 1, 14, 14)
	require.NoError(t, err)
	assert.Zero(t, g.walk(genericKernel(g), nil, nil, nil, 14, 14, oh, ow).chunk)
	g = layer(96, 256, 2, 5, 1, 1, 2, false)
	oh, ow, err = g.check(make([]float32, 1<<20), make([]float32, 1<<20), 1, 27, 27)
	require.NoError(t, err)
	r = g.walk(genericKernel(g), nil, nil, nil, 27, 27, oh, ow)
	assert.Equal(t, unit{out: 128, in: 48, w: 128 * (1 + 48*30)}, r.unit)
	assert.Equal(t, 1, r.chunk)
	g = layer(16, 16, 16, 3, 1, 1, 1, false)
	oh, ow, err = g.check(make([]float32, 1<<20), make([]float32, 1<<20), 1, 56, 56)
	require.NoError(t, err)
	assert.Zero(t, g.walk(genericKernel(g), nil, nil, nil, 56, 56, oh, ow).chunk)
}

// TestWalkStrips: with a copy limit of a few padded rows, the walk copies
// strips of several output rows, not the whole image and not one row.
func TestWalkStrips(t *testing.T) {
	defer func(v float64) { padWholeMax = v }(padWholeMax)
	padWholeMax = 1500
	g := layer(20, 40, 1, 3, 1, 1, 1, false) // dense 3x4, pads 1,2,1,1: padded rows of 15·20 floats
	oh, ow, err := g.check(make([]float32, 1<<16), make([]float32, 1<<16), 1, 30, 12)
	require.NoError(t, err)
	r := g.walk(genericKernel(g), nil, nil, nil, 30, 12, oh, ow)
	// 1500 / 300 = 5 padded rows: strips of 3 output rows.
	assert.Equal(t, 3, r.strip)
	// A depthwise layer does too few MACs per copied float for strips.
	dw := layer(20, 20, 20, 3, 1, 1, 1, false)
	oh, ow, err = dw.check(make([]float32, 1<<16), make([]float32, 1<<16), 1, 30, 12)
	require.NoError(t, err)
	assert.Zero(t, dw.walk(genericKernel(dw), nil, nil, nil, 30, 12, oh, ow).strip)
}

// TestForwardFramed: with framed kernels for the call's row, every row
// whose tap rows are cut on at most one side runs framed, straight from
// the input (a framed kernel reads nothing outside the image: its src
// slice starts at the row), and the result is the naive one, also in
// parallel and in channel ranges; with a multi-row frame too, which runs
// wherever three rows lie inside the image; with frames for another row
// width, none runs.
func TestForwardFramed(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	shapes := []*geometry{
		layer(12, 36, 3, 3, 1, 1, 1, false),  // grouped 3×4, pads 1, 2, 1, 1
		layer(16, 32, 1, 3, 2, 1, 1, false),  // dense, stride 2
		layer(12, 36, 3, 3, 1, 2, 2, false),  // grouped, dilated
		layer(8, 16, 2, 5, 1, 1, 2, false),   // 5×6, pads 2, 3, 2, 2
		layer(8, 8, 1, 3, 2, 1, 0, true),     // TF same, stride 2
		layer(20, 20, 20, 3, 1, 1, 1, false), // depthwise, partial vector
		layer(48, 48, 48, 3, 2, 1, 1, false), // depthwise stride 2, three blocks (channel ranges)
	}
	for _, g := range shapes {
		for _, hw := range [][2]int{{1, 1}, {3, 4}, {6, 9}, {11, 6}} {
			h, w := hw[0], hw[1]
			oh, ow := g.outputSize(h, w)
			if oh < 1 || ow < 1 {
				continue
			}
			name := fmt.Sprintf("c%d_%d_g%d_k%d_s%d_d%d_%dx%d", g.cin, g.cout, g.groups, g.kh, g.sh, g.dh, h, w)
			t.Run(name, func(t *testing.T) {
				weights := ints(rng, g.cout*g.cin/g.groups*g.kh*g.kw, 3)
				bias := ints(rng, g.cout, 5)
				src := ints(rng, 2*h*w*g.cin, 3)
				packed, err := g.pack(weights, bias)
				require.NoError(t, err)
				want := naive(g, weights, bias, src, 2, h, w)
				_, pl, _, _ := g.pads(h, w)
				// Without, then with a multi-row frame where output rows
				// share input rows, as the AVX-512 depthwise kernels have.
				for _, multi := range []bool{false, true} {
					if multi && (g.dh != 1 || g.sh >= g.kh) {
						continue
					}
					var calls, multiCalls atomic.Int64
					framed := *g
					var rows [][2]int
					for lo := 0; lo < g.kh; lo++ {
						rows = append(rows, [2]int{lo, g.kh})
					}
					for hi := 1; hi < g.kh; hi++ {
						rows = append(rows, [2]int{0, hi})
					}
					for _, lh := range rows {
						f := frame{ow: ow, wd: w, pl: pl, lo: lh[0], hi: lh[1]}
						f.k = framedKernel(t, g, f, &calls)
						framed.frames = append(framed.frames, f)
					}
					if multi {
						f := frame{ow: ow, wd: w, pl: pl, lo: 0, hi: g.kh, rows: 3, sh: g.sh}
						f.k = framedKernel(t, g, f, &multiCalls)
						framed.frames = append(framed.frames, f)
					}
					run := func(workers int) []float32 {
						dst := make([]float32, len(want))
						require.NoError(t, framed.forwardParallel(genericKernel(g), packed, dst, src, 2, h, w, workers))
						return dst
					}
					assert.Equal(t, want, run(1))
					// Rows cut at the top and the bottom have no frame.
					pt, _, _, _ := g.pads(h, w)
					if oneSided := pt == 0 || pt+h >= g.spanH(); oneSided {
						assert.Positive(t, calls.Load()+multiCalls.Load(), "no framed kernel ran")
					}
					// Three consecutive rows with every tap row inside the image.
					inside := func(oy int) bool { return oy*g.sh >= pt && oy*g.sh-pt+g.spanH() <= h }
					for oy := 0; multi && oy+2 < oh; oy++ {
						if inside(oy) && inside(oy+2) {
							assert.Positive(t, multiCalls.Load(), "no multi-row frame ran")
							break
						}
					}
					assert.Equal(t, want, run(3))
					func() {
						defer saveWalk().restore()
						rangeBytes, rangeWeightBytes, bandFloats = 1, 1, 1
						assert.Equal(t, want, run(1))
						assert.Equal(t, want, run(2))
					}()
					// Frames of another row: never run.
					for i := range framed.frames {
						framed.frames[i].ow++
					}
					calls.Store(0)
					multiCalls.Store(0)
					assert.Equal(t, want, run(1))
					assert.Zero(t, calls.Load()+multiCalls.Load())
				}
			})
		}
	}
}

func testForwardMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	shapes := []*geometry{
		layer(20, 20, 20, 3, 1, 1, 1, false), // depthwise, partial vector
		layer(16, 16, 16, 3, 2, 1, 1, false), // depthwise stride 2
		layer(12, 36, 3, 3, 1, 2, 2, false),  // grouped, dilated
		layer(8, 24, 1, 1, 1, 1, 0, false),   // pointwise
		layer(6, 12, 6, 5, 2, 1, 2, false),   // depthwise multiplier 2
		layer(10, 10, 10, 3, 2, 1, 0, true),  // TF same, stride 2
		layer(16, 64, 1, 3, 1, 1, 1, false),  // dense: many MACs per copied input, padded whole
		layer(48, 48, 48, 3, 1, 1, 1, false), // depthwise, three blocks (channel ranges)
	}
	for _, g := range shapes {
		for _, hw := range [][2]int{{1, 1}, {2, 3}, {5, 4}, {7, 9}, {11, 6}} {
			h, w := hw[0], hw[1]
			name := fmt.Sprintf("c%d_%d_g%d_k%d_s%d_d%d_%dx%d", g.cin, g.cout, g.groups, g.kh, g.sh, g.dh, h, w)
			t.Run(name, func(t *testing.T) {
				oh, ow := g.outputSize(h, w)
				weights := ints(rng, g.cout*g.cin/g.groups*g.kh*g.kw, 3)
				bias := ints(rng, g.cout, 5)
				src := ints(rng, 2*h*w*g.cin, 3)
				packed, err := g.pack(weights, bias)
				require.NoError(t, err)
				dst := make([]float32, 2*max(oh, 0)*max(ow, 0)*g.cout)
				err = g.forward(genericKernel(g), packed, dst, src, 2, h, w)
				if oh < 1 || ow < 1 {
					require.ErrorContains(t, err, "smaller than the kernel span")
					return
				}
				require.NoError(t, err)
				assert.Equal(t, naive(g, weights, bias, src, 2, h, w), dst)
				for _, workers := range []int{0, 1, 2, 3, 7} {
					par := make([]float32, len(dst))
					require.NoError(t, g.forwardParallel(genericKernel(g), packed, par, src, 2, h, w, workers))
					assert.Equal(t, dst, par, "workers=%d", workers)
				}
			})
		}
	}
}

// TestSplitRowsTakesBack holds the team's helper in another run: the call
// must not wait for it, but run the helper's share itself, every row once.
func TestSplitRowsTakesBack(t *testing.T) {
	release := make(chan struct{})
	var busy atomic.Int32
	busy.Add(1)
	held := &run{do: func(int, int) { <-release }, pending: &busy}
	team.Lock()
	h := team.helper(0)
	team.Unlock()
	h.post(held)
	for !held.claimed.Load() { // the helper is in it
		time.Sleep(time.Millisecond)
	}

	var rows [10]atomic.Int32
	done := make(chan struct{})
	go func() {
		splitRows(len(rows), 2, func(from, to int) {
			for i := from; i < to; i++ {
				rows[i].Add(1)
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("splitRows waited for a helper that was busy elsewhere")
	}
	close(release)
	for i := range rows {
		assert.Equal(t, int32(1), rows[i].Load(), "row %d", i)
	}
	for busy.Load() > 0 { // the helper is free again
		time.Sleep(time.Millisecond)
	}
	assert.Nil(t, h.next.Load(), "the taken-back run is still posted")
}

func TestCheckErrors(t *testing.T) {
	g := layer(4, 4, 4, 3, 1, 1, 1, false)
	k := genericKernel(g)
	w, err := g.pack(make([]float32, 4*3*4), make([]float32, 4))
	require.NoError(t, err)
	for _, c := range []struct {
		dst, src []float32
		n, h, w  int
		want     string
	}{
		{make([]float32, 64), make([]float32, 64), 0, 4, 4, "n=0: must be between 1"},
		{make([]float32, 64), make([]float32, 64), 1, -1, 4, "h=-1"},
		{make([]float32, 64), make([]float32, 63), 1, 4, 4, "src has 63 elements, want n·h·w·cin = 1·4·4·4 = 64"},
		{make([]float32, 10), make([]float32, 64), 1, 4, 4, "dst has 10 elements"},
		{nil, nil, 1, 4, 4, "src has 0 elements"},
		{nil, nil, 1 << 23, 1 << 23, 1 << 23, "n·h·w·cin = 8388608·8388608·8388608·4 overflows int"},
		{make([]float32, 64), make([]float32, 64), 1, maxDim + 1, 4, "h=16777217: must be between 1 and 16777216"},
		{make([]float32, 64), make([]float32, 64), 1, 4, maxDim + 1, "w=16777217: must be between 1 and 16777216"},
		{make([]float32, 64), make([]float32, 64), maxDim + 1, 4, 4, "n=16777217: must be between 1 and 16777216"},
		{make([]float32, 64), make([]float32, 64), 1, 4, math.MinInt, "w=-9223372036854775808: must be between 1"},
	} {
		err := g.forward(k, w, c.dst, c.src, c.n, c.h, c.w)
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "T.Forward: "), err.Error())
		assert.Contains(t, err.Error(), c.want)
	}
	_, err = g.pack(make([]float32, 47), make([]float32, 4))
	assert.ErrorContains(t, err, "weights has 47 elements, want")
	_, err = g.pack(make([]float32, 48), nil)
	assert.ErrorContains(t, err, "bias has 0 elements, want cout = 4")
}

func TestSamePad(t *testing.T) {
	// TensorFlow: in 7, stride 2, k 3 → out 4, total pad 2 → 1, 1; in 8 → out 4, total 1 → 0, 1.
	b, a := samePad(7, 2, 3)
	assert.Equal(t, [2]int{1, 1}, [2]int{b, a})
	b, a = samePad(8, 2, 3)
	assert.Equal(t, [2]int{0, 1}, [2]int{b, a})
}

// TestWalkStrategies makes sure the test shapes above reach every way a row
// gets to the kernel: straight from src with patches, bands, and the
// padded whole image.
func TestWalkStrategies(t *testing.T) {
	seen := map[string]bool{}
	defer func(v float64) { padWholeMax = v }(padWholeMax)
	for _, limit := range []float64{0, padWholeMax} {
		padWholeMax = limit
		walkStrategies(t, seen)
	}
	assert.True(t, seen["band=false whole=false"], "%v", seen)
	assert.True(t, seen["band=true whole=false"], "%v", seen)
	assert.True(t, seen["band=false whole=true"] || seen["band=true whole=true"], "%v", seen)
}

func walkStrategies(t *testing.T, seen map[string]bool) {
	for _, g := range []*geometry{layer(20, 20, 20, 3, 1, 1, 1, false), layer(12, 36, 3, 3, 1, 2, 2, false), layer(16, 64, 1, 3, 1, 1, 1, false)} {
		for _, hw := range [][2]int{{5, 4}, {7, 9}, {11, 6}} {
			oh, ow, err := g.check(make([]float32, 1<<16), make([]float32, 1<<16), 1, hw[0], hw[1])
			require.NoError(t, err)
			r := g.walk(genericKernel(g), nil, nil, nil, hw[0], hw[1], oh, ow)
			seen[fmt.Sprintf("band=%v whole=%v", r.bandAll, r.strip > 0)] = true
		}
	}
}

// TestCheckOutputOverflow: n·h·w·cin fits in an int but n·oh·ow·cout does
// not (cout = 8·cin, 1×1): an error, never a wrapped length, whatever the
// slices are.
func TestCheckOutputOverflow(t *testing.T) {
	g := &geometry{name: "T", cin: 1, cout: 8, groups: 1, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1,
		packGroups: 1, packCin: 1, packCout: 8, blockVecs: 1}
	n, h, w := maxDim, maxDim, 1<<13 // n·h·w·cin = 2^61, n·oh·ow·cout = 2^64
	need, ok := mulAll(n, h, w, g.cin)
	require.True(t, ok)
	require.Equal(t, 1<<61, need)
	_, _, err := g.check(nil, nil, n, h, w)
	require.EqualError(t, err, "T.Forward: n·oh·ow·cout = 16777216·16777216·8192·8 overflows int")
	_, _, err = g.check(make([]float32, 8), make([]float32, 1), n, h, w)
	require.ErrorContains(t, err, "n·oh·ow·cout")
	_, ok = mulAll(math.MaxInt/2+1, 2)
	assert.False(t, ok)
	p, ok := mulAll(math.MaxInt/2, 2)
	assert.True(t, ok)
	assert.Equal(t, math.MaxInt-1, p)
}

// TestForwardRejectsOverlap: dst and src must not share memory in the
// parts Forward uses; neighbouring pieces of one array are fine, and so
// are over-long slices that run into each other past those parts.
func TestForwardRejectsOverlap(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	g := layer(8, 8, 8, 3, 1, 1, 1, false) // depthwise: src and dst have the same size
	const n, h, w = 1, 5, 6
	oh, ow := g.outputSize(h, w)
	need, needOut := n*h*w*g.cin, n*oh*ow*g.cout
	weights := ints(rng, g.cout*g.kh*g.kw, 3)
	bias := ints(rng, g.cout, 5)
	packed, err := g.pack(weights, bias)
	require.NoError(t, err)
	input := ints(rng, need, 3)
	want := naive(g, weights, bias, input, n, h, w)
	k := genericKernel(g)

	buf := make([]float32, need+needOut+16)
	for _, c := range []struct {
		name     string
		dst, src []float32
	}{
		{"same start", buf[:needOut], buf[:need]},
		{"dst inside src", buf[3 : 3+needOut], buf[:need]},
		{"src inside dst", buf[:needOut], buf[5 : 5+need]},
		{"last dst element is the first src element", buf[:needOut], buf[needOut-1:]},
		{"last src element is the first dst element", buf[need-1:], buf[:need]},
	} {
		t.Run(c.name, func(t *testing.T) {
			for i := range buf {
				buf[i] = float32(i)
			}
			before := append([]float32(nil), buf...)
			err := g.forward(k, packed, c.dst, c.src, n, h, w)
			require.EqualError(t, err, "T.Forward: dst and src overlap: Forward does not work in place")
			assert.Equal(t, before, buf, "nothing may be written when the arguments are refused")
		})
	}
	for _, c := range []struct {
		name           string
		dstAt, srcAt   int
		dstEnd, srcEnd int // 0: to the end of buf
	}{
		{"src then dst", need, 0, need + needOut, need},
		{"dst then src", 0, needOut, needOut, needOut + need},
		{"over-long src runs into dst", need, 0, 0, 0},
		{"over-long dst runs into src", 0, needOut, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			clear(buf)
			copy(buf[c.srcAt:], input)
			dstEnd, srcEnd := c.dstEnd, c.srcEnd
			if dstEnd == 0 {
				dstEnd = len(buf)
			}
			if srcEnd == 0 {
				srcEnd = len(buf)
			}
			dst, src := buf[c.dstAt:dstEnd], buf[c.srcAt:srcEnd]
			require.NoError(t, g.forward(k, packed, dst, src, n, h, w))
			assert.Equal(t, want, dst[:needOut])
			assert.Equal(t, input, src[:need], "src was modified")
		})
	}
	assert.False(t, overlap(nil, buf))
	assert.False(t, overlap(buf[:0], buf))
	assert.True(t, overlap(buf[2:3], buf[:3]))
	assert.False(t, overlap(buf[3:4], buf[:3]))
}

// TestForwardFused: a depthwise layer and a 1×1 layer as one block equal
// the two run one after the other, on every walk strategy and worker count.
func TestForwardFused(t *testing.T) {
	testForwardFused(t, 20, false)
	// Framed depthwise rows, three at a time where they can.
	testForwardFused(t, 20, true)
	// Channel ranges: the depthwise rows go to the 1×1 kernel a band at a time.
	defer saveWalk().restore()
	rangeBytes, bandFloats = 1, 600
	testForwardFused(t, 32, false)
}

func testForwardFused(t *testing.T, c int, framed bool) {
	rng := rand.New(rand.NewPCG(5, 5))
	dw := layer(c, c, c, 3, 2, 1, 1, false)
	pw := &geometry{name: "P", cin: c, cout: 12, groups: 1, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1,
		bias: true, packGroups: 1, packCin: c, packCout: 12, blockVecs: 1}
	w1, b1 := ints(rng, c*3*4, 3), ints(rng, c, 5)
	w2, b2 := ints(rng, 12*c, 3), ints(rng, 12, 5)
	p1, err := dw.pack(w1, b1)
	require.NoError(t, err)
	p2, err := pw.pack(w2, b2)
	require.NoError(t, err)
	defer func(v float64) { padWholeMax = v }(padWholeMax)
	for _, limit := range []float64{0, padWholeMax} {
		padWholeMax = limit
		for _, hw := range [][2]int{{1, 1}, {5, 4}, {9, 13}} {
			h, w := hw[0], hw[1]
			oh, ow := dw.outputSize(h, w)
			src := ints(rng, 2*h*w*c, 3)
			mid := make([]float32, 2*oh*ow*c)
			require.NoError(t, dw.forward(genericKernel(dw), p1, mid, src, 2, h, w))
			dw := *dw
			var calls atomic.Int64
			if framed {
				_, pl, _, _ := dw.pads(h, w)
				for _, f := range []frame{{lo: 0, hi: 3}, {lo: 1, hi: 3}, {lo: 0, hi: 2}, {lo: 0, hi: 3, rows: 3, sh: dw.sh}} {
					f.ow, f.wd, f.pl = ow, w, pl
					f.k = framedKernel(t, &dw, f, &calls)
					dw.frames = append(dw.frames, f)
				}
			}
			want := make([]float32, 2*oh*ow*12)
			require.NoError(t, pw.forward(genericKernel(pw), p2, want, mid, 2, oh, ow))
			for _, workers := range []int{1, 3} {
				got := make([]float32, len(want))
				require.NoError(t, forwardFused("B", &dw, genericKernel(&dw), p1, pw, genericKernel(pw), p2, got, src, 2, h, w, workers))
				assert.Equal(t, want, got, "%dx%d workers=%d limit=%v framed=%v", h, w, workers, limit, framed)
			}
			if framed && oh >= 4 {
				assert.Positive(t, calls.Load(), "%dx%d: no framed kernel ran", h, w)
			}
		}
	}
	err = forwardFused("B", dw, genericKernel(dw), p1, pw, genericKernel(pw), p2, make([]float32, 5), make([]float32, 100), 1, 5, 4, 1)
	assert.ErrorContains(t, err, "B.Forward: src has 100 elements")
}
