package verify

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a testing.TB that records failures instead of failing the real
// test. Fatal* end the goroutine like the real thing, so run it via record.
type recorder struct {
	testing.TB // the real test, for Name, TempDir, ...
	mu         sync.Mutex
	msgs       []string
	failed     bool
}

func (r *recorder) add(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	if msg != "" {
		r.msgs = append(r.msgs, msg)
	}
}

func (r *recorder) Helper()                         {}
func (r *recorder) Log(args ...any)                 {}
func (r *recorder) Logf(format string, args ...any) {}
func (r *recorder) Error(args ...any)               { r.add(fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) {
	r.add(fmt.Sprintf(format, args...))
}
func (r *recorder) Fail()          { r.add("") }
func (r *recorder) FailNow()       { r.add(""); runtime.Goexit() }
func (r *recorder) Fatal(a ...any) { r.add(fmt.Sprint(a...)); runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) {
	r.add(fmt.Sprintf(f, a...))
	runtime.Goexit()
}
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}
func (r *recorder) text() string { return strings.Join(r.msgs, "\n") }

// record runs f against a recorder on its own goroutine (Goexit-safe).
func record(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// fault selects how a fake layer is broken.
type fault int

const (
	correct fault = iota
	biasOffByOne
	ignoreGroups
	skipLast
	wrongLast
	lossy            // ~11-bit mantissa: exact on small integers, not on random data
	acceptsTooSmall  // Forward returns nil for an input smaller than the span
	noForwardChecks  // Forward validates nothing
	noNewChecks      // New validates nothing
	writesWholeDst   // writes zeros into dst past n*oh*ow*Cout
	writePastEnd     // unsafe: dst[len]
	writeBeforeStart // unsafe: dst[-1]
	readPastEnd      // unsafe: src[len]
)

var sink float32

// elem points at s[i] without bounds checks, to fake out-of-bounds kernels.
func elem(s []float32, i int) *float32 {
	return (*float32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), i*4))
}

// fake is a layer computed by Reference and rounded to float32, broken as f says.
func fake(c Conv, f fault) New {
	return func(weights, bias []float32) (Forward, error) {
		if f != noNewChecks {
			if len(weights) != c.WeightLen() {
				return nil, fmt.Errorf("weights: len %d, want %d", len(weights), c.WeightLen())
			}
			if (bias != nil) != c.Bias || len(bias) != c.BiasLen() {
				return nil, errors.New("bad bias")
			}
		}
		weights, bias = slices.Clone(weights), slices.Clone(bias)
		return func(dst, src []float32, n, h, w int) error {
			oh, ow := c.OutputSize(h, w)
			if f != noForwardChecks {
				if n < 1 || h < 1 || w < 1 {
					return errors.New("bad size")
				}
				if oh < 1 || ow < 1 {
					if f == acceptsTooSmall {
						return nil
					}
					return errors.New("input smaller than the kernel")
				}
				if len(src) < n*h*w*c.Cin || len(dst) < n*oh*ow*c.Cout {
					return errors.New("short buffers")
				}
			}
			in := src[:n*h*w*c.Cin]
			if f == ignoreGroups { // every group reads group 0's channels
				in = slices.Clone(in)
				cg := c.Cin / c.Groups
				for p := 0; p < len(in); p += c.Cin {
					for g := 1; g < c.Groups; g++ {
						copy(in[p+g*cg:p+(g+1)*cg], in[p:p+cg])
					}
				}
			}
			out, _ := Reference(c, in, weights, bias, n, h, w)
			last := len(out) - 1
			for i, v := range out {
				dst[i] = float32(v)
				switch f {
				case biasOffByOne:
					dst[i]++
				case lossy:
					dst[i] = math.Float32frombits(math.Float32bits(dst[i]) &^ 0xfff)
				}
			}
			switch f {
			case skipLast:
				dst[last] = canary // as if never written
			case wrongLast:
				dst[last] += 0.5
			case writesWholeDst:
				clear(dst[len(out):])
			case writePastEnd:
				*elem(dst, len(out)) = 0
			case writeBeforeStart:
				*elem(dst, -1) = 0
			case readPastEnd:
				sink = *elem(src, n*h*w*c.Cin)
			}
			return nil
		}, nil
	}
}

var (
	// grouped has every feature on: groups, bias, stride, padding, clamp.
	grouped = Conv{Cin: 8, Cout: 12, KH: 3, KW: 3, Groups: 4, StrideH: 2, StrideW: 1,
		DilationH: 1, DilationW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 0,
		Bias: true, ActMin: -20, ActMax: 20}
	sweepConvs = []Conv{
		grouped,
		{Cin: 16, Cout: 8, KH: 1, KW: 1, Groups: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
			ActMin: ninf, ActMax: inf}, // pointwise
		{Cin: 6, Cout: 6, KH: 3, KW: 3, Groups: 6, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1,
			PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Bias: true, ActMin: 0, ActMax: 6}, // depthwise ReLU6
		{Cin: 2, Cout: 4, KH: 5, KW: 3, Groups: 2, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 2,
			SamePad: true, ActMin: ninf, ActMax: inf}, // multiplier 2, SAME
		{Cin: 3, Cout: 5, KH: 3, KW: 3, Groups: 1, StrideH: 1, StrideW: 2, DilationH: 2, DilationW: 1,
			Bias: true, ActMin: ninf, ActMax: inf}, // no padding: small inputs are errors
	}
)

func TestSweepAndCheckErrorsPassCorrectLayer(t *testing.T) {
	for _, c := range sweepConvs {
		t.Run(fmt.Sprintf("%dx%d_g%d", c.KH, c.KW, c.Groups), func(t *testing.T) {
			Sweep(t, c, fake(c, correct))
			CheckErrors(t, c, fake(c, correct))
		})
	}
}

func TestCheckDetectsBrokenLayers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     fault
		h, w  int
		wants string
	}{
		{"bias off by one", biasOffByOne, 5, 7, "exact integer data, guarded AtEnd: 432 of 432 outputs differ; first at (n=0, oy=0, ox=0, c=0)"},
		{"ignores groups", ignoreGroups, 5, 7, "outputs differ"},
		{"misses last element", skipLast, 5, 7, "left dst (n=1, oy=2, ox=5, c=11) [index 431 of 3x6x12 output] unwritten"},
		{"wrong last element", wrongLast, 5, 7, "1 of 432 outputs differ; first at (n=1, oy=2, ox=5, c=11)"},
		{"lossy arithmetic", lossy, 5, 7, "random data, guarded AtEnd: "},
		{"accepts too-small input", acceptsTooSmall, 1, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := grouped
			if tc.f == acceptsTooSmall {
				c.PadTop, c.PadBottom = 0, 0
			}
			r := record(t, func(tb testing.TB) { Check(tb, c, fake(c, tc.f), 2, tc.h, tc.w, 42) })
			require.True(t, r.Failed(), "Check passed a broken layer")
			require.Len(t, r.msgs, 1)
			assert.Contains(t, r.text(), tc.wants)
			assert.Contains(t, r.text(), "seed 42")
			assert.Contains(t, r.text(), "size n=2 h="+fmt.Sprint(tc.h))
			if tc.f == lossy {
				assert.Contains(t, r.text(), "outside tolerance")
			}
			if tc.f == acceptsTooSmall {
				assert.Contains(t, r.text(), "accepted an input smaller than the kernel span")
			}
		})
	}
	// The correct fake passes the same cases.
	r := record(t, func(tb testing.TB) { Check(tb, grouped, fake(grouped, correct), 2, 5, 7, 42) })
	assert.False(t, r.Failed(), r.text())
}

func TestSweepFailsBrokenLayer(t *testing.T) {
	r := record(t, func(tb testing.TB) { Sweep(tb, grouped, fake(grouped, wrongLast)) })
	assert.True(t, r.Failed())
	// 1×1 is too small for grouped (an error case the fake passes); 1×2 is next.
	assert.Contains(t, r.text(), "size n=1 h=1 w=2, seed 2, exact integer data, guarded AtEnd: 1 of 12 outputs differ")
}

func TestCheckErrorsDetectsMissingValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     fault
		c     Conv
		wants []string
	}{
		{"New", noNewChecks, grouped, []string{
			"New with weights one element short (215 of 216) must fail",
			"New with nil weights must fail",
			"New with nil bias must fail",
			"New with bias one element short (11 of 12) must fail",
		}},
		{"New without bias", noNewChecks, sweepConvs[1], []string{
			"New with a bias of length Cout although Bias is false must fail",
		}},
		{"Forward", noForwardChecks, sweepConvs[4], []string{
			"Forward with n = 0",
			"Forward with h = -1",
			"Forward with w = 0",
			"Forward with src one element short",
			"Forward with dst one element short",
			"Forward with nil src",
			"Forward with nil dst",
			"Forward with an input smaller than the kernel span ",
		}},
		{"extra dst element", writesWholeDst, grouped, []string{"wrote the extra dst element"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := record(t, func(tb testing.TB) { CheckErrors(tb, tc.c, fake(tc.c, tc.f)) })
			require.True(t, r.Failed())
			for _, w := range tc.wants {
				assert.Contains(t, r.text(), w)
			}
		})
	}
}

func TestSweepSubtestNames(t *testing.T) {
	var names []string
	c := sweepConvs[1]
	Sweep(t, c, func(weights, bias []float32) (Forward, error) {
		fwd, err := fake(c, correct)(weights, bias)
		return func(dst, src []float32, n, h, w int) error {
			names = append(names, fmt.Sprintf("n%d_h%d_w%d", n, h, w))
			return fwd(dst, src, n, h, w)
		}, err
	})
	assert.Contains(t, names, "n1_h1_w1")
	assert.Contains(t, names, "n2_h7_w11")
}
