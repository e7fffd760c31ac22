package verify

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specialConvs: every feature of sweepConvs, plus ReLU (NaN must survive
// the lower bound) and a one-sided clamp.
var specialConvs = append([]Conv{
	{Cin: 4, Cout: 8, KH: 3, KW: 2, Groups: 2, StrideH: 1, StrideW: 2, DilationH: 2, DilationW: 1,
		PadTop: 2, PadLeft: 1, PadBottom: 0, PadRight: 1, Bias: true, ActMin: 0, ActMax: inf}, // relu
	{Cin: 3, Cout: 6, KH: 1, KW: 1, Groups: 3, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
		Bias: true, ActMin: ninf, ActMax: 1.5}, // clamp max only
}, sweepConvs...)

// wrap changes what a layer's Forward does; outLen is n·oh·ow·Cout.
func wrap(c Conv, newLayer New, f func(fwd Forward, dst, src []float32, n, h, w, outLen int) error) New {
	return func(weights, bias []float32) (Forward, error) {
		fwd, err := newLayer(weights, bias)
		if err != nil {
			return nil, err
		}
		return func(dst, src []float32, n, h, w int) error {
			oh, ow := c.OutputSize(h, w)
			return f(fwd, dst, src, n, h, w, max(n*oh*ow*c.Cout, 0))
		}, nil
	}
}

// mapOutputs is a layer whose outputs go through m after a correct Forward.
func mapOutputs(c Conv, m func(float32) float32) New {
	return wrap(c, fake(c, correct), func(fwd Forward, dst, src []float32, n, h, w, outLen int) error {
		if err := fwd(dst, src, n, h, w); err != nil {
			return err
		}
		for i := range dst[:outLen] {
			dst[i] = m(dst[i])
		}
		return nil
	})
}

// skipZeroWeights is a layer that skips zero weights, as a sparse kernel
// might: then Inf·0 gives Inf (or whatever the rest sums to), not NaN.
func skipZeroWeights(c Conv) New {
	return func(weights, bias []float32) (Forward, error) {
		return func(dst, src []float32, n, h, w int) error {
			oh, ow := c.OutputSize(h, w)
			top, left, _, _ := c.Pads(h, w)
			cinG, coutG := c.Cin/c.Groups, c.Cout/c.Groups
			for b := 0; b < n; b++ {
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						for o := 0; o < c.Cout; o++ {
							var acc float32
							if bias != nil {
								acc = bias[o]
							}
							for ci := 0; ci < cinG; ci++ {
								for ky := 0; ky < c.KH; ky++ {
									for kx := 0; kx < c.KW; kx++ {
										iy, ix := oy*c.StrideH-top+ky*c.DilationH, ox*c.StrideW-left+kx*c.DilationW
										wt := weights[((o*cinG+ci)*c.KH+ky)*c.KW+kx]
										if iy < 0 || iy >= h || ix < 0 || ix >= w || wt == 0 {
											continue
										}
										acc += src[((b*h+iy)*w+ix)*c.Cin+o/coutG*cinG+ci] * wt
									}
								}
							}
							dst[((b*oh+oy)*ow+ox)*c.Cout+o] = min(max(acc, c.ActMin), c.ActMax)
						}
					}
				}
			}
			return nil
		}, nil
	}
}

func TestCheckSpecialValuesPassesCorrectLayer(t *testing.T) {
	for _, c := range specialConvs {
		t.Run(fmt.Sprintf("%dx%d_g%d_act%g_%g", c.KH, c.KW, c.Groups, c.ActMin, c.ActMax), func(t *testing.T) {
			CheckSpecialValues(t, c, fake(c, correct))
			CheckSpecialValues(t, c, NaiveLayer(c)) // float32 sums, Go's NaN-keeping min/max
		})
	}
}

// The padding-as-zero-inputs reading of a NaN weight must be accepted too:
// a layer that multiplies padding taps (0·NaN = NaN) passes.
func TestCheckSpecialValuesAcceptsPaddingAsZeros(t *testing.T) {
	c := sweepConvs[2] // depthwise, padded
	padAsZeros := func(weights, bias []float32) (Forward, error) {
		return func(dst, src []float32, n, h, w int) error {
			c0, padded, ph, pw := padExplicitly(c, src, n, h, w)
			out, _ := Reference(c0, padded, weights, bias, n, ph, pw)
			for i, v := range out {
				dst[i] = float32(v)
			}
			return nil
		}, nil
	}
	CheckSpecialValues(t, c, padAsZeros)
}

func TestCheckSpecialValuesDetectsBrokenLayers(t *testing.T) {
	relu := specialConvs[0]
	for _, tc := range []struct {
		name  string
		c     Conv
		layer New
		wants string
	}{
		// Go's max keeps NaN; this is the SSE MAXPS rule with the operands
		// the wrong way round: the bound when either is NaN.
		{"clamp drops NaN", relu, mapOutputs(relu, func(v float32) float32 {
			if v > 0 {
				return v
			}
			return 0
		}), "NaN in src: "},
		{"NaN flushed to zero", sweepConvs[1],
			mapOutputs(sweepConvs[1], func(v float32) float32 {
				if v != v {
					return 0
				}
				return v
			}), "NaN in src: "},
		{"Inf saturated to MaxFloat32", sweepConvs[1],
			mapOutputs(sweepConvs[1], func(v float32) float32 {
				if math.IsInf(float64(v), 1) {
					return math.MaxFloat32
				}
				return v
			}), "got 3.4028235e+38, want +Inf"},
		// NaN·0 and Inf·0 skipped: the NaN case already sees it.
		{"zero weights skipped", sweepConvs[1], skipZeroWeights(sweepConvs[1]), "NaN in src: 6 of 160 outputs break IEEE semantics"},
		{"NaN outputs left unwritten", sweepConvs[1],
			wrap(sweepConvs[1], fake(sweepConvs[1], correct), func(fwd Forward, dst, src []float32, n, h, w, outLen int) error {
				tmp := make([]float32, len(dst))
				if err := fwd(tmp, src, n, h, w); err != nil {
					return err
				}
				for i, v := range tmp[:outLen] {
					if v == v {
						dst[i] = v
					}
				}
				return nil
			}), "unwritten"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := record(t, func(tb testing.TB) { CheckSpecialValues(tb, tc.c, tc.layer) })
			require.True(t, r.Failed(), "CheckSpecialValues passed a broken layer")
			require.Len(t, r.msgs, 1)
			assert.Contains(t, r.text(), tc.wants)
			assert.Contains(t, r.text(), "seed ")
		})
	}
}

func TestCheckSpecialValuesDetectsHang(t *testing.T) {
	old := forwardTimeout
	forwardTimeout = 200 * time.Millisecond
	defer func() { forwardTimeout = old }()
	c := sweepConvs[1]
	block := make(chan struct{}) // never closed: the "hung" calls stay blocked
	hangsOnNaN := wrap(c, fake(c, correct), func(fwd Forward, dst, src []float32, n, h, w, outLen int) error {
		for _, v := range src {
			if v != v {
				<-block
			}
		}
		return fwd(dst, src, n, h, w)
	})
	start := time.Now()
	r := record(t, func(tb testing.TB) { CheckSpecialValues(tb, c, hangsOnNaN) })
	require.True(t, r.Failed())
	assert.Contains(t, r.text(), "NaN in src: Forward did not return within 200ms")
	assert.Less(t, time.Since(start), 5*time.Second)
}

// overlapChecked adds the driver's overlap rule to a layer.
func overlapChecked(c Conv, newLayer New) New {
	return wrap(c, newLayer, func(fwd Forward, dst, src []float32, n, h, w, outLen int) error {
		need := n * h * w * c.Cin
		if outLen > 0 && need > 0 && len(dst) >= outLen && len(src) >= need {
			d0, s0 := uintptr(unsafe.Pointer(&dst[0])), uintptr(unsafe.Pointer(&src[0]))
			if d0 < s0+uintptr(need)*4 && s0 < d0+uintptr(outLen)*4 {
				return errors.New("dst and src overlap")
			}
		}
		return fwd(dst, src, n, h, w)
	})
}

func TestCheckAliasingPassesCorrectLayer(t *testing.T) {
	for _, c := range specialConvs {
		t.Run(fmt.Sprintf("%dx%d_g%d", c.KH, c.KW, c.Groups), func(t *testing.T) {
			CheckAliasing(t, c, overlapChecked(c, fake(c, correct)))
		})
	}
}

func TestCheckAliasingDetectsBrokenLayers(t *testing.T) {
	c := grouped
	for _, tc := range []struct {
		name  string
		layer New
		wants string
	}{
		{"no overlap check", fake(c, correct),
			"dst and src start at the same element (array of 240, src [0:240], dst [0:180], n·h·w·cin = 240, n·oh·ow·cout = 180): Forward accepted overlapping dst and src"},
		{"refuses any shared array", wrap(c, fake(c, correct), func(fwd Forward, dst, src []float32, n, h, w, outLen int) error {
			// Compares the ends of the capacities: one array, one end.
			if cap(dst) > 0 && cap(src) > 0 && &dst[:cap(dst)][cap(dst)-1] == &src[:cap(src)][cap(src)-1] {
				return errors.New("shared array")
			}
			return fwd(dst, src, n, h, w)
		}), "src then dst, adjacent (array of 420, src [0:240], dst [240:420], n·h·w·cin = 240, n·oh·ow·cout = 180): Forward failed on non-overlapping dst and src: shared array"},
		{"writes before refusing", wrap(c, overlapChecked(c, fake(c, correct)), func(fwd Forward, dst, src []float32, n, h, w, outLen int) error {
			dst[0] = 0
			return fwd(dst, src, n, h, w)
		}), "Forward refused (dst and src overlap) but changed element 0 of the array"},
		{"writes the whole over-long dst", overlapChecked(c, fake(c, writesWholeDst)), "over-long src runs on into dst (array of 425, src [0:425], dst [240:425], n·h·w·cin = 240, n·oh·ow·cout = 180): Forward wrote dst[180], past n·oh·ow·cout = 180"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := record(t, func(tb testing.TB) { CheckAliasing(tb, c, tc.layer) })
			require.True(t, r.Failed(), "CheckAliasing passed a broken layer")
			require.Len(t, r.msgs, 1)
			assert.Contains(t, r.text(), tc.wants)
		})
	}
}
