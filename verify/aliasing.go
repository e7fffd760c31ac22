package verify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// CheckAliasing checks Forward's contract on dst and src that share one
// backing array. Overlapping is an error: Forward reads src while it
// writes dst, so in place it would compute garbage; it must refuse before
// writing anything (the whole array stays bit-identical). Only the parts
// Forward uses count, src[:n·h·w·Cin] and dst[:n·oh·ow·Cout]: neighbouring
// pieces of one array, and over-long slices that run into each other past
// those parts, must work and give the reference result, src untouched.
// The array sits against a guard page (AtEnd).
func CheckAliasing(t testing.TB, c Conv, newLayer New) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("%v: invalid Conv: %v", c, err)
	}
	n, h, w := 1, span(c.KH, c.DilationH)+2, span(c.KW, c.DilationW)+3
	oh, ow := c.OutputSize(h, w)
	if oh < 1 || ow < 1 {
		t.Fatalf("%v: input %dx%d gives no output", c, h, w)
	}
	rng := rand.New(rand.NewPCG(11, pcgStream))
	input, weights, bias := c.gen(rng, exactData, n, h, w)
	fwd := mustNew(t, newLayer, weights, bias, c.String())
	need, needOut := len(input), n*oh*ow*c.Cout
	ref, mag := Reference(c, input, weights, bias, n, h, w)
	at := caseName(c, n, h, w, 11)

	// Each case slices one guarded array of `size` floats: src is
	// buf[srcAt:srcEnd], dst is buf[dstAt:dstEnd] (an end of 0: the end of buf).
	type layout struct {
		name          string
		size          int
		srcAt, srcEnd int
		dstAt, dstEnd int
		overlapping   bool
	}
	both := max(need, needOut)
	cases := []layout{
		{name: "dst and src start at the same element", size: both, srcEnd: need, dstEnd: needOut, overlapping: true},
		{name: "dst starts inside src", size: need/2 + needOut + need, srcEnd: need, dstAt: need / 2, dstEnd: need/2 + needOut, overlapping: true},
		{name: "src starts inside dst", size: needOut/2 + need + needOut, srcAt: needOut / 2, srcEnd: needOut/2 + need, dstEnd: needOut, overlapping: true},
		{name: "the last dst element is the first src element", size: needOut - 1 + need, srcAt: needOut - 1, dstEnd: needOut, overlapping: true},
		{name: "the last src element is the first dst element", size: need - 1 + needOut, srcEnd: need, dstAt: need - 1, overlapping: true},
		{name: "src then dst, adjacent", size: need + needOut, srcEnd: need, dstAt: need},
		{name: "dst then src, adjacent", size: needOut + need, srcAt: needOut, dstEnd: needOut},
		{name: "over-long src runs on into dst", size: need + needOut + 5, dstAt: need},
		{name: "over-long dst runs on into src", size: needOut + need + 5, srcAt: needOut},
	}
	for _, lc := range cases {
		cat := fmt.Sprintf("%s, %s", at, lc.name)
		func() {
			buf, release := Guarded(lc.size, AtEnd)
			defer release()
			srcEnd, dstEnd := lc.srcEnd, lc.dstEnd
			if srcEnd == 0 {
				srcEnd = lc.size
			}
			if dstEnd == 0 {
				dstEnd = lc.size
			}
			for i := range buf {
				buf[i] = canary
			}
			copy(buf[lc.srcAt:], input)
			before := slices.Clone(buf)
			src, dst := buf[lc.srcAt:srcEnd], buf[lc.dstAt:dstEnd]
			cat = fmt.Sprintf("%s (array of %d, src [%d:%d], dst [%d:%d], n·h·w·cin = %d, n·oh·ow·cout = %d)",
				cat, lc.size, lc.srcAt, srcEnd, lc.dstAt, dstEnd, need, needOut)

			err, p := callForward(fwd, dst, src, n, h, w)
			if p != nil {
				t.Fatalf("%s: %s", cat, describePanic(p))
			}
			if lc.overlapping {
				if err == nil {
					t.Fatalf("%s: Forward accepted overlapping dst and src; want an error (it cannot work in place)", cat)
				}
				for i := range buf {
					if math.Float32bits(buf[i]) != math.Float32bits(before[i]) {
						t.Fatalf("%s: Forward refused (%v) but changed element %d of the array: %g -> %g", cat, err, i, before[i], buf[i])
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: Forward failed on non-overlapping dst and src: %v", cat, err)
			}
			for i := range input {
				if math.Float32bits(src[i]) != math.Float32bits(input[i]) {
					t.Fatalf("%s: Forward modified src[%d]: %g -> %g", cat, i, input[i], src[i])
				}
			}
			for i := needOut; i < len(dst); i++ {
				if j := lc.dstAt + i; j < lc.srcAt || j >= lc.srcAt+need { // past dst's part, outside src's
					if math.Float32bits(dst[i]) != canaryBits {
						t.Fatalf("%s: Forward wrote dst[%d], past n·oh·ow·cout = %d", cat, i, needOut)
					}
				}
			}
			got := dst[:needOut]
			for i, v := range got {
				if math.Float32bits(v) == canaryBits {
					t.Fatalf("%s: Forward left dst %s unwritten", cat, pos(c, oh, ow, i))
				}
			}
			if c.exactOK() {
				compareExact(t, c, got, ref, oh, ow, cat)
			} else {
				compareTol(t, c, got, ref, mag, oh, ow, cat)
			}
		}()
	}
}
