// Package verify checks convolution kernels against a naive float64
// reference: exact comparisons on integer data, error-bounded comparisons on
// random data, guard pages and canaries around every buffer, an edge-size
// sweep and the error contract on bad arguments.
package verify

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Conv describes one convolution layer's semantics: NHWC activations (NCHW
// when NCHW is set), OIHW weights, PyTorch groups.
type Conv struct {
	Cin, Cout                            int
	KH, KW                               int
	Groups                               int
	StrideH, StrideW                     int
	DilationH, DilationW                 int
	PadTop, PadLeft, PadBottom, PadRight int
	// SamePad selects TensorFlow "SAME" padding, derived from the input
	// size at run time; the Pad* fields are then ignored.
	SamePad bool
	Bias    bool
	// ActMin and ActMax clamp the output: y = min(max(x, ActMin), ActMax).
	// Use float32(math.Inf(-1)) / float32(math.Inf(1)) for "no bound".
	ActMin, ActMax float32
	// Shuffle > 1 permutes the output channels as ShuffleNet's channel
	// shuffle with Shuffle groups: view [Shuffle][Cout/Shuffle], transpose,
	// flatten. 0 or 1: no shuffle.
	Shuffle int
	// NCHW: activations are [n][c][h][w] instead of [n][h][w][c].
	NCHW bool
}

// ShufflePos is where output channel o is stored (o itself without shuffle).
func (c Conv) ShufflePos(o int) int {
	if c.Shuffle <= 1 {
		return o
	}
	q := c.Cout / c.Shuffle
	return (o%q)*c.Shuffle + o/q
}

// Forward runs a layer on src (NHWC [n][h][w][Cin], or NCHW
// [n][Cin][h][w]) into dst (NHWC [n][oh][ow][Cout], or NCHW [n][Cout][oh][ow]).
type Forward func(dst, src []float32, n, h, w int) error

// New builds a layer from OIHW weights and bias (nil iff the Conv has no bias).
type New func(weights, bias []float32) (Forward, error)

// String prints the Conv compactly for failure messages.
func (c Conv) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Conv{Cin:%d Cout:%d K:%dx%d Groups:%d Stride:%dx%d Dilation:%dx%d",
		c.Cin, c.Cout, c.KH, c.KW, c.Groups, c.StrideH, c.StrideW, c.DilationH, c.DilationW)
	if c.SamePad {
		b.WriteString(" Pad:SAME")
	} else {
		fmt.Fprintf(&b, " Pad(t,l,b,r):%d,%d,%d,%d", c.PadTop, c.PadLeft, c.PadBottom, c.PadRight)
	}
	fmt.Fprintf(&b, " Bias:%t Act:[%g,%g]", c.Bias, c.ActMin, c.ActMax)
	if c.Shuffle > 1 {
		fmt.Fprintf(&b, " Shuffle:%d", c.Shuffle)
	}
	if c.NCHW {
		b.WriteString(" Layout:NCHW")
	}
	b.WriteString("}")
	return b.String()
}

// Validate reports a Conv whose fields cannot describe a convolution.
func (c Conv) Validate() error {
	var errs []error
	pos := func(name string, v int) {
		if v < 1 {
			errs = append(errs, fmt.Errorf("%s = %d, want >= 1", name, v))
		}
	}
	pos("Cin", c.Cin)
	pos("Cout", c.Cout)
	pos("KH", c.KH)
	pos("KW", c.KW)
	pos("Groups", c.Groups)
	pos("StrideH", c.StrideH)
	pos("StrideW", c.StrideW)
	pos("DilationH", c.DilationH)
	pos("DilationW", c.DilationW)
	if c.Groups >= 1 && (c.Cin%c.Groups != 0 || c.Cout%c.Groups != 0) {
		errs = append(errs, fmt.Errorf("Groups = %d must divide Cin = %d and Cout = %d", c.Groups, c.Cin, c.Cout))
	}
	if !c.SamePad && (c.PadTop < 0 || c.PadLeft < 0 || c.PadBottom < 0 || c.PadRight < 0) {
		errs = append(errs, errors.New("negative padding"))
	}
	// Written so that NaN bounds fail too.
	if !(c.ActMin <= c.ActMax) {
		errs = append(errs, fmt.Errorf("ActMin = %g > ActMax = %g", c.ActMin, c.ActMax))
	}
	if c.Shuffle > 1 && c.Cout%c.Shuffle != 0 {
		errs = append(errs, fmt.Errorf("Shuffle = %d must divide Cout = %d", c.Shuffle, c.Cout))
	}
	return errors.Join(errs...)
}

// span is the extent of a dilated kernel along one axis.
func span(k, d int) int { return (k-1)*d + 1 }

// samePads is TensorFlow's SAME rule along one axis.
func samePads(in, k, s, d int) (before, after int) {
	out := (in + s - 1) / s
	total := max((out-1)*s+span(k, d)-in, 0)
	return total / 2, total - total/2
}

// outDim is floor((in+before+after-span)/s)+1 with a true floor, so an input
// smaller than the span gives <= 0 instead of Go's truncation to 1.
func outDim(in, k, s, d, before, after int) int {
	if in <= 0 {
		return 0
	}
	num := in + before + after - span(k, d)
	if num < 0 {
		return -((-num + s - 1) / s) + 1
	}
	return num/s + 1
}

// Pads returns the padding applied to an h×w input.
func (c Conv) Pads(h, w int) (top, left, bottom, right int) {
	if !c.SamePad {
		return c.PadTop, c.PadLeft, c.PadBottom, c.PadRight
	}
	top, bottom = samePads(h, c.KH, c.StrideH, c.DilationH)
	left, right = samePads(w, c.KW, c.StrideW, c.DilationW)
	return top, left, bottom, right
}

// OutputSize returns the output height and width for an h×w input. Either is
// <= 0 when the (padded) input is smaller than the kernel span or h, w <= 0.
func (c Conv) OutputSize(h, w int) (oh, ow int) {
	top, left, bottom, right := c.Pads(h, w)
	oh = outDim(h, c.KH, c.StrideH, c.DilationH, top, bottom)
	ow = outDim(w, c.KW, c.StrideW, c.DilationW, left, right)
	return oh, ow
}

// WeightLen is the OIHW weight count Cout*(Cin/Groups)*KH*KW.
func (c Conv) WeightLen() int { return c.Cout * (c.Cin / c.Groups) * c.KH * c.KW }

// BiasLen is Cout with bias, else 0.
func (c Conv) BiasLen() int {
	if c.Bias {
		return c.Cout
	}
	return 0
}

// macsPerPixel is the multiply-adds for one output pixel (all channels).
func (c Conv) macsPerPixel() int { return c.Cout * (c.Cin / c.Groups) * c.KH * c.KW }

// FLOPs is 2·MACs for an n×h×w input, counting taps that fall on padding (the
// kernels compute them too, so this is the work rate they achieve).
func FLOPs(c Conv, n, h, w int) float64 {
	oh, ow := c.OutputSize(h, w)
	if n <= 0 || oh <= 0 || ow <= 0 {
		return 0
	}
	return 2 * float64(n) * float64(oh) * float64(ow) * float64(c.macsPerPixel())
}

// Reference is the naive direct convolution accumulated in float64 (bias
// first, then every tap and input channel), then clamped. out is NHWC [n][oh][ow][Cout]
// (NCHW [n][Cout][oh][ow] for an NCHW Conv, whose src is NCHW too); mag is
// Σ|x·w| + |b| per output, the scale of its rounding error. Products of two
// float32 are exact in float64, so out is the true value up to ~K·2^-53.
// Reference panics on an invalid Conv or short slices.
func Reference(c Conv, src, weights, bias []float32, n, h, w int) (out, mag []float64) {
	if err := c.Validate(); err != nil {
		panic("verify.Reference: " + err.Error())
	}
	oh, ow := c.OutputSize(h, w)
	if n <= 0 || oh <= 0 || ow <= 0 {
		return []float64{}, []float64{}
	}
	if c.NCHW && len(src) >= n*h*w*c.Cin {
		// The same sums on the same values: transpose in, compute, transpose out.
		nhwc := c
		nhwc.NCHW = false
		out, mag = Reference(nhwc, transpose(src[:n*h*w*c.Cin], n, c.Cin, h*w), weights, bias, n, h, w)
		return transpose(out, n, oh*ow, c.Cout), transpose(mag, n, oh*ow, c.Cout)
	}
	if len(src) < n*h*w*c.Cin || len(weights) < c.WeightLen() || (c.Bias && len(bias) < c.Cout) {
		panic(fmt.Sprintf("verify.Reference: short slices: src %d (want %d), weights %d (want %d), bias %d (want %d)",
			len(src), n*h*w*c.Cin, len(weights), c.WeightLen(), len(bias), c.BiasLen()))
	}
	top, left, _, _ := c.Pads(h, w)
	cinG, coutG := c.Cin/c.Groups, c.Cout/c.Groups
	taps := c.KH * c.KW
	lo, hi := float64(c.ActMin), float64(c.ActMax)
	out = make([]float64, n*oh*ow*c.Cout)
	mag = make([]float64, len(out))
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				pixel := ((b*oh+oy)*ow + ox) * c.Cout
				for g := 0; g < c.Groups; g++ {
					for co := 0; co < coutG; co++ {
						o := g*coutG + co
						var acc, m float64
						if c.Bias {
							acc = float64(bias[o])
							m = math.Abs(acc)
						}
						// Taps outer, channels inner: contiguous src and a
						// short loop for 1×1 layers. Order is immaterial in
						// float64 (exact on integer data).
						for ky := 0; ky < c.KH; ky++ {
							iy := oy*c.StrideH - top + ky*c.DilationH
							if iy < 0 || iy >= h {
								continue
							}
							for kx := 0; kx < c.KW; kx++ {
								ix := ox*c.StrideW - left + kx*c.DilationW
								if ix < 0 || ix >= w {
									continue
								}
								xs := src[((b*h+iy)*w+ix)*c.Cin+g*cinG:][:cinG]
								wi := (o*cinG*c.KH+ky)*c.KW + kx
								for ci, x := range xs {
									p := float64(x) * float64(weights[wi+ci*taps])
									acc += p
									m += math.Abs(p)
								}
							}
						}
						i := pixel + c.ShufflePos(o)
						out[i] = min(max(acc, lo), hi)
						mag[i] = m
					}
				}
			}
		}
	}
	return out, mag
}

// transpose swaps the two inner axes of n [a][b] matrices: NCHW [n][c][hw]
// to NHWC [n][hw][c] with (a, b) = (c, hw), and back with (hw, c).
func transpose[T float32 | float64](x []T, n, a, b int) []T {
	out := make([]T, len(x))
	for m := 0; m < n; m++ {
		in, to := x[m*a*b:(m+1)*a*b], out[m*a*b:(m+1)*a*b]
		for i := 0; i < a; i++ {
			for j := 0; j < b; j++ {
				to[j*a+i] = in[i*b+j]
			}
		}
	}
	return out
}

const (
	// tolSteps: a float32 dot product of K terms rounds at most once per
	// term (FMA, or mul+add counted as one step here with the constant
	// doubling the bound) plus the final rounding; 2 covers both and any
	// summation order (|error| <= γ_K·Σ|terms|, γ_K ≈ K·u).
	tolSteps = 2
	// tolTiny lets outputs whose every term is zero (or underflows) compare;
	// it is far below any value a non-zero float32 term can produce here.
	tolTiny = 1e-30
)

// Tolerance bounds |got − ref| for one output on random data:
// 2·K·2^-24·mag + 1e-30, K = (Cin/Groups)·KH·KW + 1 (the +1 is the bias add).
// The clamp is 1-Lipschitz so it does not widen the bound.
func Tolerance(c Conv, mag float64) float64 {
	k := float64((c.Cin/c.Groups)*c.KH*c.KW + 1)
	return tolSteps*k*0x1p-24*mag + tolTiny
}
