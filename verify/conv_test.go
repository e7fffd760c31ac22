package verify

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	inf  = float32(math.Inf(1))
	ninf = float32(math.Inf(-1))
)

// conv fills the fields tests rarely vary: unit stride and dilation, no act.
func conv(cin, cout, kh, kw, groups int) Conv {
	return Conv{Cin: cin, Cout: cout, KH: kh, KW: kw, Groups: groups,
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, ActMin: ninf, ActMax: inf}
}

func f64(v ...float64) []float64 { return v }

func TestReference1x1(t *testing.T) {
	c := conv(2, 3, 1, 1, 1)
	c.Bias = true
	// 1×1×2 image, channels (x0, x1) = pixel0 (1, 2), pixel1 (3, -1).
	src := []float32{1, 2, 3, -1}
	weights := []float32{1, 0, 0, 1, 2, 3} // [o][ci]
	bias := []float32{10, 20, 30}
	out, mag := Reference(c, src, weights, bias, 1, 1, 2)
	assert.Equal(t, f64(11, 22, 38, 13, 19, 33), out)
	assert.Equal(t, f64(11, 22, 38, 13, 21, 39), mag)
}

func TestReference3x3Pad1Groups2(t *testing.T) {
	c := conv(2, 2, 3, 3, 2)
	c.PadTop, c.PadLeft, c.PadBottom, c.PadRight = 1, 1, 1, 1
	c.Bias = true
	// 2×2 image; channel 0 = 1,2,3,4; channel 1 = 10,20,30,40 (row-major).
	src := []float32{1, 10, 2, 20, 3, 30, 4, 40}
	weights := make([]float32, 2*1*3*3)
	for i := 0; i < 9; i++ {
		weights[i] = 1 // o=0: box filter over channel 0 only
	}
	weights[9] = 1 // o=1: top-left tap only, over channel 1 only
	bias := []float32{0.5, -1}
	out, _ := Reference(c, src, weights, bias, 1, 2, 2)
	// o=0: every 3×3 window around a 2×2 image covers all four pixels.
	// o=1: out[oy][ox] = ch1[oy-1][ox-1], only (1,1) sees a pixel.
	assert.Equal(t, f64(10.5, -1, 10.5, -1, 10.5, -1, 10.5, 9), out)
}

func TestReferenceDepthwiseMultiplier2(t *testing.T) {
	c := conv(2, 4, 1, 1, 2)
	src := []float32{5, 7}
	out, _ := Reference(c, src, []float32{1, 2, 3, 4}, nil, 1, 1, 1)
	// Outputs 0,1 read channel 0; outputs 2,3 read channel 1.
	assert.Equal(t, f64(5, 10, 21, 28), out)
}

func TestReferenceStride2Dilation2(t *testing.T) {
	c := conv(1, 1, 3, 3, 1)
	c.StrideH, c.StrideW, c.DilationH, c.DilationW = 2, 2, 2, 2
	src := make([]float32, 49)
	for i := range src {
		src[i] = float32(i) // x[r][c] = 7r + c
	}
	weights := make([]float32, 9)
	weights[0] = 10 // tap (0,0) -> x[2oy][2ox]
	weights[5] = 1  // tap (1,2) -> x[2oy+2][2ox+4]
	oh, ow := c.OutputSize(7, 7)
	require.Equal(t, [2]int{2, 2}, [2]int{oh, ow}) // span 5: (7-5)/2+1
	out, _ := Reference(c, src, weights, nil, 1, 7, 7)
	assert.Equal(t, f64(0+18, 20+20, 140+32, 160+34), out)
}

// tfPad is TensorFlow's documented SAME rule, written independently.
func tfPad(in, k, s int) (before, after int) {
	var total int
	if in%s == 0 {
		total = max(k-s, 0)
	} else {
		total = max(k-in%s, 0)
	}
	return total / 2, total - total/2
}

func TestSamePadMatchesTensorFlow(t *testing.T) {
	for k := 1; k <= 7; k++ {
		for s := 1; s <= 3; s++ {
			c := conv(1, 1, k, k, 1)
			c.StrideH, c.StrideW, c.SamePad = s, s, true
			c.PadTop = 99 // ignored with SamePad
			for in := 1; in <= 20; in++ {
				top, left, bottom, right := c.Pads(in, in+1)
				b, a := tfPad(in, k, s)
				assert.Equal(t, [2]int{b, a}, [2]int{top, bottom}, "k=%d s=%d in=%d", k, s, in)
				b, a = tfPad(in+1, k, s)
				assert.Equal(t, [2]int{b, a}, [2]int{left, right}, "k=%d s=%d in=%d", k, s, in+1)
				oh, ow := c.OutputSize(in, in+1)
				assert.Equal(t, [2]int{(in + s - 1) / s, (in + s) / s}, [2]int{oh, ow})
			}
		}
	}
}

func TestReferenceSamePadStride2(t *testing.T) {
	c := conv(1, 1, 3, 3, 1)
	c.StrideH, c.StrideW, c.SamePad = 2, 2, true
	weights := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	// Odd input 3×3: out 2×2, pads 1/1: windows centred on (0,0),(0,2),(2,0),(2,2).
	top, left, bottom, right := c.Pads(3, 3)
	assert.Equal(t, [4]int{1, 1, 1, 1}, [4]int{top, left, bottom, right})
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	out, _ := Reference(c, src, weights, nil, 1, 3, 3)
	assert.Equal(t, f64(1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9), out)
	// Even input 4×4: out 2×2, pads 0/1: windows at rows/cols 0..2 and 2..4.
	top, left, bottom, right = c.Pads(4, 4)
	assert.Equal(t, [4]int{0, 0, 1, 1}, [4]int{top, left, bottom, right})
	src = make([]float32, 16)
	for i := range src {
		src[i] = float32(i + 1)
	}
	out, _ = Reference(c, src, weights, nil, 1, 4, 4)
	// (0,0): rows 0-2 cols 0-2; (0,1): rows 0-2 cols 2-3; (1,0): rows 2-3 cols 0-2; (1,1): rows 2-3 cols 2-3.
	assert.Equal(t, f64(1+2+3+5+6+7+9+10+11, 3+4+7+8+11+12, 9+10+11+13+14+15, 11+12+15+16), out)
}

func TestReferenceReLU6(t *testing.T) {
	c := conv(1, 1, 1, 1, 1)
	c.ActMin, c.ActMax = 0, 6
	out, mag := Reference(c, []float32{-2, 3, 7}, []float32{1}, nil, 1, 1, 3)
	assert.Equal(t, f64(0, 3, 6), out)
	assert.Equal(t, f64(2, 3, 7), mag) // mag is taken before the clamp
}

func TestOutputSizeSmallInputs(t *testing.T) {
	c := conv(1, 1, 5, 3, 1)
	c.StrideH, c.StrideW = 2, 2
	// h=4 < span 5: floor(-1/2)+1 = 0, not Go's truncated 1.
	oh, ow := c.OutputSize(4, 1)
	assert.LessOrEqual(t, oh, 0)
	assert.LessOrEqual(t, ow, 0)
	oh, _ = c.OutputSize(1, 3)
	assert.LessOrEqual(t, oh, 0)
	oh, ow = c.OutputSize(0, -3)
	assert.LessOrEqual(t, oh, 0)
	assert.LessOrEqual(t, ow, 0)
	oh, ow = c.OutputSize(5, 3)
	assert.Equal(t, [2]int{1, 1}, [2]int{oh, ow})
	assert.Zero(t, FLOPs(c, 1, 4, 3))
	out, _ := Reference(c, nil, make([]float32, c.WeightLen()), nil, 1, 4, 3)
	assert.Empty(t, out)
}

func TestLensAndFLOPs(t *testing.T) {
	c := conv(32, 64, 3, 3, 4)
	c.PadTop, c.PadLeft, c.PadBottom, c.PadRight = 1, 1, 1, 1
	assert.Equal(t, 64*8*9, c.WeightLen())
	assert.Equal(t, 0, c.BiasLen())
	c.Bias = true
	assert.Equal(t, 64, c.BiasLen())
	assert.Equal(t, float64(2*2*5*7*64*8*9), FLOPs(c, 2, 5, 7))
	assert.NoError(t, c.Validate())
	c.Groups = 3
	assert.Error(t, c.Validate())
}

// dot32 accumulates in float32, forwards or backwards, optionally with FMA.
func dot32(x, w []float32, b float32, backwards, fma bool) float32 {
	acc := b
	for i := range x {
		j := i
		if backwards {
			j = len(x) - 1 - i
		}
		if fma {
			acc = float32(math.FMA(float64(x[j]), float64(w[j]), float64(acc)))
		} else {
			acc += x[j] * w[j]
		}
	}
	return acc
}

func TestTolerance(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, k := range []int{9, 576, 4608} {
		c := conv(k, 1, 1, 1, 1)
		c.Bias = true
		for _, positive := range []bool{false, true} {
			x, w := make([]float32, k), make([]float32, k)
			for i := range x {
				x[i], w[i] = rng.Float32()*2-1, rng.Float32()*2-1
				if positive {
					x[i], w[i] = rng.Float32(), rng.Float32()
				}
			}
			b := rng.Float32()
			ref, mag := Reference(c, x, w, []float32{b}, 1, 1, 1)
			tol := Tolerance(c, mag[0])
			for _, back := range []bool{false, true} {
				for _, fma := range []bool{false, true} {
					got := dot32(x, w, b, back, fma)
					assert.LessOrEqual(t, math.Abs(float64(got)-ref[0]), tol, "k=%d positive=%v back=%v fma=%v", k, positive, back, fma)
				}
			}
			if positive { // ref ≈ mag, so a 1e-3 relative error exceeds 2·K·2^-24 for K < 8000
				assert.Greater(t, math.Abs(ref[0]*(1+1e-3)-ref[0]), tol, "k=%d", k)
			}
		}
	}
	// All-zero terms still compare.
	assert.Greater(t, Tolerance(conv(4, 4, 3, 3, 1), 0), 0.0)
}
