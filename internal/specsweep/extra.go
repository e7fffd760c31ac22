package specsweep

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/convgen/convgen/gen"
	"github.com/convgen/convgen/verify"
)

// f32 is a Go expression for v.
func f32(v float32) string {
	switch {
	case math.IsInf(float64(v), 1):
		return "float32(math.Inf(1))"
	case math.IsInf(float64(v), -1):
		return "float32(math.Inf(-1))"
	}
	return "float32(" + strconv.FormatFloat(float64(v), 'g', -1, 32) + ")"
}

// convLiteral is c as a verify.Conv composite literal.
func convLiteral(c verify.Conv) string {
	return fmt.Sprintf("verify.Conv{Cin: %d, Cout: %d, KH: %d, KW: %d, Groups: %d, StrideH: %d, StrideW: %d, "+
		"DilationH: %d, DilationW: %d, PadTop: %d, PadLeft: %d, PadBottom: %d, PadRight: %d, SamePad: %t, "+
		"Bias: %t, ActMin: %s, ActMax: %s, Shuffle: %d, NCHW: %t}",
		c.Cin, c.Cout, c.KH, c.KW, c.Groups, c.StrideH, c.StrideW, c.DilationH, c.DilationW,
		c.PadTop, c.PadLeft, c.PadBottom, c.PadRight, c.SamePad, c.Bias, f32(c.ActMin), f32(c.ActMax), c.Shuffle, c.NCHW)
}

// ExtraTests returns test files the sweep adds to a generated package, by
// file name, using only its exported API (NewX, Forward):
//
//   - sweep_extra_test.go: per layer, TestSweepExtraX runs
//     verify.CheckSpecialValues, verify.CheckAliasing and
//     verify.CheckConcurrent on the implementation the package picks (the
//     best assembly; the Go kernels with -tags purego).
//   - sweep_dispatch_amd64_test.go, when the package's dispatch has the
//     hasAVX512 / hasAVX2FMA switches and selectKernel: TestSweepDispatch
//     forces every dispatch path in turn by switching features off (AVX-512
//     off, then AVX2 off too), checks which implementation selectKernel
//     picks for every kernel, and runs verify.Check and
//     verify.CheckSpecialValues through NewX under each override.
//
// dispatch is the package's dispatch_amd64.go, to see which switches it has.
func ExtraTests(pkg string, layers []gen.Layer, dispatch []byte) map[string][]byte {
	out := map[string][]byte{}
	var b strings.Builder
	fmt.Fprintf(&b, "// Added by the specsweep randomized sweep.\n\npackage %s\n\nimport (\n\t\"math\"\n\t\"testing\"\n\n\t\"github.com/convgen/convgen/verify\"\n)\n\nvar _ = math.Inf\n", pkg)
	for _, l := range layers {
		t := l.TypeName()
		fmt.Fprintf(&b, `
func newSweep%[1]s(weights, bias []float32) (verify.Forward, error) {
	l, err := New%[1]s(weights, bias)
	if err != nil {
		return nil, err
	}
	return l.Forward, nil
}

var sweepConv%[1]s = %[2]s

func TestSweepExtra%[1]s(t *testing.T) {
	verify.CheckSpecialValues(t, sweepConv%[1]s, newSweep%[1]s)
	verify.CheckAliasing(t, sweepConv%[1]s, newSweep%[1]s)
	verify.CheckConcurrent(t, sweepConv%[1]s, newSweep%[1]s)
}
`, t, convLiteral(l.Conv()))
	}
	out["sweep_extra_test.go"] = []byte(b.String())

	d := string(dispatch)
	if !strings.Contains(d, "var hasAVX512 ") || !strings.Contains(d, "var hasAVX2FMA ") || !strings.Contains(d, "avx512Kernels") {
		return out
	}
	b.Reset()
	fmt.Fprintf(&b, `// Added by the specsweep randomized sweep.

//go:build amd64 && !purego

package %s

import (
	"testing"

	"github.com/convgen/convgen/verify"
)

// TestSweepDispatch forces each dispatch path by switching CPU features off.
func TestSweepDispatch(t *testing.T) {
	avx512, avx2 := hasAVX512, hasAVX2FMA
	defer func() { hasAVX512, hasAVX2FMA = avx512, avx2 }()
	type override struct {
		name         string
		avx512, avx2 bool
	}
	var overrides []override
	if avx512 {
		overrides = append(overrides, override{"as detected (AVX-512)", true, true})
	}
	if avx2 {
		overrides = append(overrides, override{"AVX-512 off", false, true})
	}
	overrides = append(overrides, override{"AVX-512 and AVX2 off", false, false})
	for _, o := range overrides {
		t.Run(o.name, func(t *testing.T) {
			hasAVX512, hasAVX2FMA = o.avx512, o.avx2
			for id := 0; id < numKernels; id++ {
				want := "purego"
				switch {
				case o.avx512 && avx512Kernels[id].fn != nil:
					want = "avx512"
				case o.avx2:
					want = "avx2"
				}
				if got := selectKernel(id).name; got != want {
					t.Errorf("kernel %%d: selectKernel picked %%q, want %%q", id, got, want)
				}
			}
`, pkg)
	for _, l := range layers {
		t := l.TypeName()
		fmt.Fprintf(&b, "\t\t\tverify.Check(t, sweepConv%[1]s, newSweep%[1]s, 2, 9, 13, 1)\n\t\t\tverify.CheckSpecialValues(t, sweepConv%[1]s, newSweep%[1]s)\n", t)
	}
	b.WriteString("\t\t})\n\t}\n}\n")
	out["sweep_dispatch_amd64_test.go"] = []byte(b.String())
	return out
}
