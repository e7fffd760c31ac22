package verify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReferenceNCHWHandWorked is TestReference3x3Pad1Groups2 in NCHW: the
// same sums, planes instead of interleaved channels.
func TestReferenceNCHWHandWorked(t *testing.T) {
	c := conv(2, 2, 3, 3, 2)
	c.PadTop, c.PadLeft, c.PadBottom, c.PadRight = 1, 1, 1, 1
	c.Bias = true
	c.NCHW = true
	src := []float32{1, 2, 3, 4, 10, 20, 30, 40} // plane 0, then plane 1
	weights := make([]float32, 2*1*3*3)
	for i := 0; i < 9; i++ {
		weights[i] = 1
	}
	weights[9] = 1
	bias := []float32{0.5, -1}
	out, _ := Reference(c, src, weights, bias, 1, 2, 2)
	assert.Equal(t, f64(10.5, 10.5, 10.5, 10.5, -1, -1, -1, 9), out)
}

// directNCHW is the NCHW convolution in float64 written out without any
// transposition: out and mag as Reference defines them, NCHW.
func directNCHW(c Conv, src, weights, bias []float32, n, h, w int) (out, mag []float64) {
	oh, ow := c.OutputSize(h, w)
	top, left, _, _ := c.Pads(h, w)
	cinG, coutG := c.Cin/c.Groups, c.Cout/c.Groups
	out = make([]float64, n*c.Cout*oh*ow)
	mag = make([]float64, len(out))
	for b := 0; b < n; b++ {
		for o := 0; o < c.Cout; o++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var acc, m float64
					if c.Bias {
						acc, m = float64(bias[o]), math.Abs(float64(bias[o]))
					}
					for ci := 0; ci < cinG; ci++ {
						for ky := 0; ky < c.KH; ky++ {
							for kx := 0; kx < c.KW; kx++ {
								iy, ix := oy*c.StrideH-top+ky*c.DilationH, ox*c.StrideW-left+kx*c.DilationW
								if iy < 0 || iy >= h || ix < 0 || ix >= w {
									continue
								}
								p := float64(src[((b*c.Cin+o/coutG*cinG+ci)*h+iy)*w+ix]) * float64(weights[((o*cinG+ci)*c.KH+ky)*c.KW+kx])
								acc += p
								m += math.Abs(p)
							}
						}
					}
					i := ((b*c.Cout+c.ShufflePos(o))*oh+oy)*ow + ox
					out[i] = math.Min(math.Max(acc, float64(c.ActMin)), float64(c.ActMax))
					mag[i] = m
				}
			}
		}
	}
	return out, mag
}

func nchwConvs() []Conv {
	mk := func(cin, cout, kh, kw, groups int, f func(c *Conv)) Conv {
		c := conv(cin, cout, kh, kw, groups)
		c.NCHW = true
		f(&c)
		return c
	}
	return []Conv{
		mk(3, 5, 3, 3, 1, func(c *Conv) { c.PadTop, c.PadLeft, c.PadBottom, c.PadRight = 1, 2, 0, 1; c.Bias = true }),
		mk(6, 6, 3, 3, 6, func(c *Conv) { c.StrideH, c.StrideW = 2, 1; c.SamePad = true }),
		mk(4, 8, 2, 3, 2, func(c *Conv) { c.DilationH, c.DilationW = 2, 3; c.ActMin, c.ActMax = -2, 3 }),
		mk(8, 12, 1, 1, 4, func(c *Conv) { c.Shuffle = 3; c.Bias = true }),
		mk(4, 4, 3, 2, 2, func(c *Conv) { c.StrideH, c.StrideW = 1, 3; c.PadLeft = 1; c.Shuffle = 2; c.ActMin = 0 }),
	}
}

// TestReferenceNCHWMatchesDirect: Reference of an NCHW Conv (which
// transposes to NHWC and back) is the direct NCHW convolution, shuffle,
// clamp and magnitudes included, and NaiveLayer computes it in float32.
func TestReferenceNCHWMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for ci, c := range nchwConvs() {
		for _, size := range [][3]int{{1, 5, 7}, {2, 4, 9}, {3, 1, 6}} {
			n, h, w := size[0], size[1], size[2]
			oh, ow := c.OutputSize(h, w)
			if oh < 1 || ow < 1 {
				continue
			}
			name := fmt.Sprintf("conv %d %v n=%d %dx%d", ci, c, n, h, w)
			src := make([]float32, n*c.Cin*h*w)
			weights := make([]float32, c.WeightLen())
			bias := make([]float32, c.BiasLen())
			for _, s := range [][]float32{src, weights, bias} {
				for i := range s {
					s[i] = float32(rng.IntN(9) - 4)
				}
			}
			if !c.Bias {
				bias = nil
			}
			out, mag := Reference(c, src, weights, bias, n, h, w)
			wantOut, wantMag := directNCHW(c, src, weights, bias, n, h, w)
			require.Equal(t, wantOut, out, name)
			require.Equal(t, wantMag, mag, name)

			fwd, err := NaiveLayer(c)(weights, bias)
			require.NoError(t, err)
			dst := make([]float32, len(out))
			require.NoError(t, fwd(dst, src, n, h, w))
			for i, v := range out {
				require.Equal(t, float32(v), dst[i], "%s: NaiveLayer output %d", name, i)
			}

			// The NHWC twin on the transposed input gives the transposed output.
			nhwc := c
			nhwc.NCHW = false
			out2, _ := Reference(nhwc, transpose(src, n, c.Cin, h*w), weights, bias, n, h, w)
			require.Equal(t, out, transpose(out2, n, oh*ow, c.Cout), name)
		}
	}
}

// TestCheckNCHW: the checks pass the naive NCHW layer, and fail the NHWC
// one for an NCHW Conv (the layout is part of the contract).
func TestCheckNCHW(t *testing.T) {
	for _, c := range nchwConvs() {
		t.Run(c.String(), func(t *testing.T) {
			Check(t, c, NaiveLayer(c), 2, 6, 9, 1)
			CheckSpecialValues(t, c, NaiveLayer(c))
			nhwc := c
			nhwc.NCHW = false
			r := record(t, func(tb testing.TB) { Check(tb, c, NaiveLayer(nhwc), 2, 6, 9, 1) })
			assert.True(t, r.Failed(), "an NHWC layer passed as NCHW")
			assert.Contains(t, r.text(), "NCHW output")
		})
	}
}
