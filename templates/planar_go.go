package templates

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// goPlanar is the pure-Go NCHW kernel: per output channel, the row is
// initialised with the bias, then every input channel and kernel row adds
// its kw taps in one pass over the row (kw loads and one store per pixel),
// then the clamp. Its packed weights are one channel per block (ChanTile
// 1): bias, then [ci][tap].
func goPlanar(k Kernel) []jen.Code {
	cinG, coutG, taps := k.Cin/k.Groups, k.Cout/k.Groups, k.Taps()
	id := jen.Id
	var body []jen.Code
	for ky := 1; ky < k.KH; ky++ {
		body = append(body, id(fmt.Sprintf("r%d", ky)).Op(":=").Lit(ky).Op("*").Id("rowStride"))
	}
	if k.KH == 1 {
		body = append(body, id("_").Op("=").Id("rowStride"))
	}
	if k.StrideW == 1 {
		body = append(body, id("_").Op("=").Id("phaseStride"))
	}
	// offset of tap (ky, kx) from the start of an input plane's row.
	offset := func(ky, kx int) *jen.Statement {
		ph, col := k.planarCol(kx)
		e := jen.Lit(col)
		if ph > 0 {
			e = jen.Lit(ph).Op("*").Id("phaseStride").Op("+").Lit(col)
		}
		if ky > 0 {
			e = id(fmt.Sprintf("r%d", ky)).Op("+").Add(e)
		}
		return e
	}
	var rows []jen.Code
	for ky := 0; ky < k.KH; ky++ {
		var decl []jen.Code
		sum := jen.Null()
		for kx := 0; kx < k.KW; kx++ {
			r, wv := fmt.Sprintf("x%d", kx), fmt.Sprintf("w%d", kx)
			decl = append(decl,
				id(r).Op(":=").Id("in").Index(offset(ky, kx).Op(":")).Index(jen.Op(":").Len(id("out"))),
				id(wv).Op(":=").Id("wp").Index(jen.Lit(ky*k.KW+kx)),
			)
			if kx > 0 {
				sum = sum.Op("+")
			}
			sum = sum.Id(wv).Op("*").Id(r).Index(id("x"))
		}
		rows = append(rows, jen.Block(append(decl,
			jen.For(id("x").Op(":=").Range().Id("out")).Block(id("out").Index(id("x")).Op("+=").Add(sum)),
		)...))
	}
	plane := id("o")
	if k.Shuffled() {
		q := coutG * k.Groups / k.Shuffle
		plane = jen.Parens(id("o").Op("%").Lit(q)).Op("*").Lit(k.Shuffle).Op("+").Id("o").Op("/").Lit(q)
	}
	var clamp []jen.Code
	if k.HasMin() || k.HasMax() {
		clamp = append(clamp, id("out").Index(id("x")).Op("=").Add(clampExpr(k, id("v"))))
	}
	channel := []jen.Code{
		id("o").Op(":=").Id("g").Op("*").Lit(coutG).Op("+").Id("oc"),
		id("out").Op(":=").Id("dst").Index(jen.Parens(plane).Op("*").Id("dstPlane").Op(":")).Index(jen.Op(":").Id("count")),
		jen.For(id("x").Op(":=").Range().Id("out")).Block(id("out").Index(id("x")).Op("=").Id("wp").Index(jen.Lit(0))),
		id("wp").Op("=").Id("wp").Index(jen.Lit(1).Op(":")),
		jen.For(id("ci").Op(":=").Lit(0), id("ci").Op("<").Lit(cinG), id("ci").Op("++")).Block(append([]jen.Code{
			id("in").Op(":=").Id("src").Index(jen.Parens(id("g").Op("*").Lit(cinG).Op("+").Id("ci")).Op("*").Id("srcPlane").Op(":")),
		}, append(rows, id("wp").Op("=").Id("wp").Index(jen.Lit(taps).Op(":")))...)...),
	}
	if len(clamp) > 0 {
		channel = append(channel, jen.For(jen.List(id("x"), id("v")).Op(":=").Range().Id("out")).Block(clamp...))
	}
	groups := jen.Id("groups")
	if k.Shuffled() { // every group, always: the planes are shuffled across them
		groups = jen.Lit(k.Groups)
		body = append(body, id("_").Op("=").Id("groups"))
	}
	return append(body,
		id("wp").Op(":=").Id("w"),
		jen.For(id("g").Op(":=").Lit(0), id("g").Op("<").Add(groups), id("g").Op("++")).Block(
			jen.For(id("oc").Op(":=").Lit(0), id("oc").Op("<").Lit(coutG), id("oc").Op("++")).Block(channel...),
		),
	)
}
