package verify

import (
	"math/rand/v2"
	"testing"
)

// NaiveLayer is the baseline a Go user has today without convgen: the
// direct seven-loop convolution in float32, bounds-checked, no packing.
// Benchmarks report it beside the generated kernels.
func NaiveLayer(c Conv) New {
	return func(weights, bias []float32) (Forward, error) {
		return func(dst, src []float32, n, h, w int) error {
			naive(c, dst, src, weights, bias, n, h, w)
			return nil
		}, nil
	}
}

func naive(c Conv, dst, src, weights, bias []float32, n, h, w int) {
	oh, ow := c.OutputSize(h, w)
	top, left, _, _ := c.Pads(h, w)
	cinG, coutG := c.Cin/c.Groups, c.Cout/c.Groups
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for o := 0; o < c.Cout; o++ {
					g := o / coutG
					var acc float32
					if bias != nil {
						acc = bias[o]
					}
					for ci := 0; ci < cinG; ci++ {
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
								i := ((b*h+iy)*w+ix)*c.Cin + g*cinG + ci
								if c.NCHW {
									i = ((b*c.Cin+g*cinG+ci)*h+iy)*w + ix
								}
								acc += src[i] * weights[((o*cinG+ci)*c.KH+ky)*c.KW+kx]
							}
						}
					}
					acc = min(max(acc, c.ActMin), c.ActMax)
					if c.NCHW {
						dst[((b*c.Cout+c.ShufflePos(o))*oh+oy)*ow+ox] = acc
					} else {
						dst[((b*oh+oy)*ow+ox)*c.Cout+c.ShufflePos(o)] = acc
					}
				}
			}
		}
	}
}

// Bench times Forward of the layer newLayer makes on one n×h×w input with
// random data and reports GFLOP/s (2·MACs, padding taps included, per
// second) beside ns/op.
func Bench(b *testing.B, c Conv, newLayer New, n, h, w int) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(s []float32) {
		for i := range s {
			s[i] = rng.Float32()*2 - 1
		}
	}
	weights := make([]float32, c.WeightLen())
	fill(weights)
	var bias []float32
	if c.Bias {
		bias = make([]float32, c.BiasLen())
		fill(bias)
	}
	fwd, err := newLayer(weights, bias)
	if err != nil {
		b.Fatal(err)
	}
	oh, ow := c.OutputSize(h, w)
	src := make([]float32, n*h*w*c.Cin)
	fill(src)
	dst := make([]float32, n*oh*ow*c.Cout)
	runs := 0
	for b.Loop() {
		if err := fwd(dst, src, n, h, w); err != nil {
			b.Fatal(err)
		}
		runs++
	}
	b.ReportMetric(FLOPs(c, n, h, w)*float64(runs)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
