package templates

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
)

// GoName is the name of a kernel's pure-Go function.
func (k Kernel) GoName() string { return k.Name + "_go" }

// GoKernel returns the pure-Go row kernel: the portable path (purego
// builds, other architectures, CPUs without AVX2/FMA). It has the shape
// baked in like the assembly (constant strides, taps unrolled) and streams
// the same packed weights.
func GoKernel(k Kernel) jen.Code {
	doc := "// " + strings.ReplaceAll(k.describe(), "\n", "\n// ")
	if k.Family == Planar {
		return jen.Id(doc).Line().Func().Id(k.GoName()).
			Params(jen.List(jen.Id("dst"), jen.Id("src"), jen.Id("w")).Index().Float32(),
				jen.List(jen.Id("count"), jen.Id("rowStride"), jen.Id("phaseStride"), jen.Id("srcPlane"), jen.Id("dstPlane"), jen.Id("groups")).Int()).
			Block(goPlanar(k)...)
	}
	var body []jen.Code
	switch k.Family {
	case Depthwise:
		body = goDwconv(k)
	case PackedGroups:
		body = goPgconv(k)
	default:
		body = goGconv(k)
	}
	return jen.Id(doc).Line().Func().Id(k.GoName()).
		Params(jen.List(jen.Id("dst"), jen.Id("src"), jen.Id("w")).Index().Float32(), jen.List(jen.Id("count"), jen.Id("rowStride")).Int()).
		Block(body...)
}

// rowOffsets declares r1 … r(kh-1) = ky·rowStride, the offsets of the tap
// rows, once per call.
func rowOffsets(k Kernel) []jen.Code {
	var out []jen.Code
	for ky := 1; ky < k.KH; ky++ {
		out = append(out, jen.Id(fmt.Sprintf("r%d", ky)).Op(":=").Lit(ky).Op("*").Id("rowStride"))
	}
	if k.KH == 1 {
		out = append(out, jen.Id("_").Op("=").Id("rowStride"))
	}
	return out
}

// tapOffset is the float offset of tap (ky, kx) from a pixel's first tap
// (an edge variant's src is at its first computed column).
func tapOffset(k Kernel, ky, kx int) *jen.Statement {
	lo, _ := k.tapCols()
	col := (kx - lo) * k.DilW * k.Cin
	if ky == 0 {
		return jen.Lit(col)
	}
	return jen.Id(fmt.Sprintf("r%d", ky)).Op("+").Lit(col)
}

// pixelLoop wraps body in the loop over count pixels with in and out set to
// the pixel's input and output.
func pixelLoop(k Kernel, body ...jen.Code) jen.Code {
	// A kernel run on a range of channels gets dst sliced at the range, so
	// its last pixel may end before the full pixel would.
	outEnd := jen.Id("p").Op("*").Lit(k.Cout).Op(":").Parens(jen.Id("p").Op("+").Lit(1)).Op("*").Lit(k.Cout)
	if k.ChannelRanges() {
		outEnd = jen.Id("p").Op("*").Lit(k.Cout).Op(":")
	}
	head := []jen.Code{
		jen.Id("in").Op(":=").Id("src").Index(jen.Id("p").Op("*").Lit(k.StrideW * k.Cin).Op(":")),
		jen.Id("out").Op(":=").Id("dst").Index(outEnd),
		jen.Id("wp").Op(":=").Id("w"),
	}
	return jen.For(jen.Id("p").Op(":=").Lit(0), jen.Id("p").Op("<").Id("count"), jen.Id("p").Op("++")).Block(append(head, body...)...)
}

// clampExpr is v clamped to the layer's bounds with Go's min and max,
// which compile without branches (a relu on random data mispredicted
// half its branches) and keep NaN, as the assembly's VMAXPS/VMINPS do.
func clampExpr(k Kernel, v jen.Code) *jen.Statement {
	e := jen.Add(v)
	if k.HasMin() {
		e = jen.Max(e, jen.Float32().Call(jen.Lit(k.ActMin)))
	}
	if k.HasMax() {
		e = jen.Min(e, jen.Float32().Call(jen.Lit(k.ActMax)))
	}
	return e
}

// storeClamped writes acc[:n] to to[at:], clamped; for a shuffled layer,
// lane l (output channel ch+l of the pixel) goes to out[ShufflePos(ch+l)].
func storeClamped(k Kernel, to string, n int, at, ch jen.Code) jen.Code {
	clamp := []jen.Code{jen.Id("v").Op(":=").Add(clampExpr(k, jen.Id("acc").Index(jen.Id("l"))))}
	if k.Shuffled() {
		q := k.Cout / k.Shuffle
		clamp = append(clamp,
			jen.Id("o").Op(":=").Add(ch).Op("+").Id("l"),
			jen.Id("out").Index(jen.Parens(jen.Id("o").Op("%").Lit(q)).Op("*").Lit(k.Shuffle).Op("+").Id("o").Op("/").Lit(q)).Op("=").Id("v"),
		)
		return jen.For(jen.Id("l").Op(":=").Lit(0), jen.Id("l").Op("<").Lit(n), jen.Id("l").Op("++")).Block(clamp...)
	}
	clamp = append(clamp, jen.Id("o").Index(jen.Id("l")).Op("=").Id("v"))
	return jen.Block(
		jen.Id("o").Op(":=").Id(to).Index(jen.Add(at).Op(":").Add(at).Op("+").Lit(n)),
		jen.For(jen.Id("l").Op(":=").Range().Id("o")).Block(clamp...),
	)
}

// blockRun repeats body count times (a loop when count > 1).
func blockRun(count int, body ...jen.Code) jen.Code {
	if count == 1 {
		return jen.Block(body...)
	}
	return jen.For(jen.Id("b").Op(":=").Lit(0), jen.Id("b").Op("<").Lit(count), jen.Id("b").Op("++")).Block(body...)
}

// goDwconv: per pixel, per channel block, the taps unrolled over a lane loop.
func goDwconv(k Kernel) []jen.Code {
	var blocks []jen.Code
	blocks = append(blocks, jen.Id("c").Op(":=").Lit(0))
	for _, run := range k.BlockRuns() {
		n := run.Vecs * Lanes
		valid := (run.Vecs-1)*Lanes + run.Lanes
		st := laneInit(valid)
		lo, hi := k.tapCols()
		for ky := 0; ky < k.KH; ky++ {
			for kx := lo; kx < hi; kx++ {
				tap := ky*k.KW + kx
				off := tapOffset(k, ky, kx).Op("+").Id("c")
				m := k.Multiplier()
				if m > 1 { // the vector's 8/m input channels, each read by m lanes
					off = tapOffset(k, ky, kx).Op("+").Id("c").Op("/").Lit(m)
				}
				st = append(st, jen.Block(append([]jen.Code{
					jen.Id("x").Op(":=").Id("in").Index(jen.Add(off).Op(":").Add(off).Op("+").Lit(valid / m)),
					jen.Id("wt").Op(":=").Id("wp").Index(jen.Lit((1 + tap) * n).Op(":").Lit((1+tap)*n + valid)),
				}, laneFMA(valid, func(l int) int { return l / m })...)...))
			}
		}
		st = append(st,
			laneCollect(valid),
			storeClamped(k, "out", valid, jen.Id("c"), jen.Id("c")),
			jen.Id("wp").Op("=").Id("wp").Index(jen.Lit((1+k.Taps())*n).Op(":")),
			jen.Id("c").Op("+=").Lit(valid),
		)
		if k.ChannelRanges() { // the blocks w holds (see Kernel.ChannelRanges)
			blocks = append(blocks, jen.For(jen.Len(jen.Id("wp")).Op(">").Lit(0)).Block(st...))
			continue
		}
		blocks = append(blocks, blockRun(run.Count, st...))
	}
	blocks = append(blocks, jen.Id("_").Op("=").Id("c"))
	return append(rowOffsets(k), pixelLoop(k, blocks...))
}

// goGconv: per pixel, per group, per channel block, per input channel, the
// taps unrolled over a lane loop.
func goGconv(k Kernel) []jen.Code {
	cinG, coutG := k.PackCin(), k.PackCout()
	var group []jen.Code
	group = append(group,
		jen.Id("gin").Op(":=").Id("in").Index(jen.Id("g").Op("*").Lit(cinG).Op(":")),
		jen.Id("gout").Op(":=").Id("out").Index(jen.Id("g").Op("*").Lit(coutG).Op(":").Parens(jen.Id("g").Op("+").Lit(1)).Op("*").Lit(coutG)),
		jen.Id("c").Op(":=").Lit(0),
	)
	if k.Shuffled() {
		group = append(group, jen.Id("_").Op("=").Id("gout")) // stores go to out
	}
	for _, run := range k.BlockRuns() {
		n := run.Vecs * Lanes
		valid := (run.Vecs-1)*Lanes + run.Lanes
		var taps []jen.Code
		for ky := 0; ky < k.KH; ky++ {
			for kx := 0; kx < k.KW; kx++ {
				tap := ky*k.KW + kx
				taps = append(taps, jen.Block(
					jen.Id("x").Op(":=").Id("gin").Index(tapOffset(k, ky, kx).Op("+").Id("ci")),
					jen.Id("wt").Op(":=").Id("wc").Index(jen.Lit(tap*n).Op(":").Lit(tap*n+valid)),
					jen.For(jen.Id("l").Op(",").Id("wv").Op(":=").Range().Id("wt")).Block(
						jen.Id("acc").Index(jen.Id("l")).Op("+=").Id("x").Op("*").Id("wv"),
					),
				))
			}
		}
		st := []jen.Code{
			jen.Var().Id("acc").Index(jen.Lit(n)).Float32(),
			jen.Copy(jen.Id("acc").Index(jen.Op(":")), jen.Id("wp").Index(jen.Op(":").Lit(n))),
			jen.Id("wp").Op("=").Id("wp").Index(jen.Lit(n).Op(":")),
			jen.For(jen.Id("ci").Op(":=").Lit(0), jen.Id("ci").Op("<").Lit(cinG), jen.Id("ci").Op("++")).Block(
				append([]jen.Code{
					jen.Id("wc").Op(":=").Id("wp").Index(jen.Id("ci").Op("*").Lit(k.Taps() * n).Op(":")),
				}, taps...)...,
			),
			jen.Id("wp").Op("=").Id("wp").Index(jen.Lit(cinG * k.Taps() * n).Op(":")),
			storeClamped(k, "gout", valid, jen.Id("c"), jen.Id("g").Op("*").Lit(coutG).Op("+").Id("c")),
			jen.Id("c").Op("+=").Lit(valid),
		}
		group = append(group, blockRun(run.Count, st...))
	}
	group = append(group, jen.Id("_").Op("=").Id("c"))
	groups := jen.Id("g").Op("<").Lit(k.Groups)
	if k.ChannelRanges() { // the groups w holds (see Kernel.ChannelRanges)
		groups = jen.Len(jen.Id("wp")).Op(">").Lit(0)
	}
	body := []jen.Code{
		jen.For(jen.Id("g").Op(":=").Lit(0), groups, jen.Id("g").Op("++")).Block(group...),
	}
	return append(rowOffsets(k), pixelLoop(k, body...))
}

// goPgconv: per pixel, per channel block, per tap and group input, a lane
// loop in which lane l reads input l - l%cg + i of the block's channels.
func goPgconv(k Kernel) []jen.Code {
	cg := k.PackCin()
	var blocks []jen.Code
	blocks = append(blocks, jen.Id("c").Op(":=").Lit(0))
	for _, run := range k.BlockRuns() {
		n := run.Vecs * Lanes
		st := laneInit(n)
		for ky := 0; ky < k.KH; ky++ {
			for kx := 0; kx < k.KW; kx++ {
				tap := ky*k.KW + kx
				x := jen.Id("x").Op(":=").Id("in").Index(tapOffset(k, ky, kx).Op("+").Id("c").Op(":").Add(tapOffset(k, ky, kx)).Op("+").Id("c").Op("+").Lit(n))
				loops := []jen.Code{x}
				for i := 0; i < cg; i++ {
					at := (1 + i*k.Taps() + tap) * n
					loops = append(loops, jen.Block(append([]jen.Code{
						jen.Id("wt").Op(":=").Id("wp").Index(jen.Lit(at).Op(":").Lit(at + n)),
					}, laneFMA(n, func(l int) int { return l - l%cg + i })...)...))
				}
				st = append(st, jen.Block(loops...))
			}
		}
		st = append(st,
			laneCollect(n),
			storeClamped(k, "out", n, jen.Id("c"), jen.Id("c")),
			jen.Id("wp").Op("=").Id("wp").Index(jen.Lit((1+cg*k.Taps())*n).Op(":")),
			jen.Id("c").Op("+=").Lit(n),
		)
		blocks = append(blocks, blockRun(run.Count, st...))
	}
	blocks = append(blocks, jen.Id("_").Op("=").Id("c"))
	return append(rowOffsets(k), pixelLoop(k, blocks...))
}

// The lane helpers keep a block's accumulators in scalar variables a0, a1,
// … rather than an array, so that the Go compiler holds them in registers,
// and unroll the lanes with constant indices, so that the bounds checks
// fold away.

// laneInit declares a0 … a(n-1) from the block's bias, wp[0:n].
func laneInit(n int) []jen.Code {
	var st []jen.Code
	for l := 0; l < n; l++ {
		st = append(st, jen.Id(fmt.Sprintf("a%d", l)).Op(":=").Id("wp").Index(jen.Lit(l)))
	}
	return st
}

// laneFMA adds x[xi(l)]·wt[l] to every a_l.
func laneFMA(n int, xi func(l int) int) []jen.Code {
	var st []jen.Code
	for l := 0; l < n; l++ {
		st = append(st, jen.Id(fmt.Sprintf("a%d", l)).Op("+=").Id("x").Index(jen.Lit(xi(l))).Op("*").Id("wt").Index(jen.Lit(l)))
	}
	return st
}

// laneCollect gathers a0 … a(n-1) into acc for the store.
func laneCollect(n int) jen.Code {
	var vals []jen.Code
	for l := 0; l < n; l++ {
		vals = append(vals, jen.Id(fmt.Sprintf("a%d", l)))
	}
	return jen.Id("acc").Op(":=").Index(jen.Lit(n)).Float32().Values(vals...)
}
