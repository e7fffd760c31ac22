// Package specsweep makes random valid convgen specs from a seed, and holds
// the checks the randomized sweep runs on what convgen generates from them:
// no AVX-512 in the AVX2 assembly (AVX512Problems), no identifier declared
// twice in a generated package (DuplicateDecls), and the extra tests it
// adds to each generated package (ExtraTests).
//
// The specs cover every kernel family the planner has (depthwise, depthwise
// channel multiplier, packed groups of 2 or 4 channels, general grouped,
// dense, pointwise) and every form of every field (k int or pair, stride
// and dilation int or pair, pad int, pair, 4-tuple, "same" or "valid",
// bias, act none/relu/relu6/clamp with either side left out, shuffle,
// input, layout "nhwc" or "nchw"), each field also left out. About a third
// of the layers are NCHW, of every family (the planner gives them all the
// Planar kernel family). Random makes no fused blocks, so no block is ever
// NCHW. Every layer comes in both forms convgen reads: its JSON object and
// the equivalent -layer argument. Layers stay cheap to verify: at most 64
// channels, k at most 5, at most maxMACs multiply-adds per output pixel.
package specsweep

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Families are the layer families Random draws from, in order.
var Families = []string{"depthwise", "multiplier", "packed", "grouped", "dense", "pointwise"}

// Field forms, by field. "" is the field left out.
var (
	kForms        = []string{"int", "pair"}
	strideForms   = []string{"", "int", "pair"}
	dilationForms = []string{"", "int", "pair"}
	padForms      = []string{"", "int", "pair", "four", "same", "valid"}
	biasForms     = []string{"", "true", "false"}
	actForms      = []string{"", "none", "relu", "relu6", "clamp", "min", "max"}
	shuffleForms  = []string{"", "one", "groups"}
	inputForms    = []string{"", "pair"}
	groupsForms   = []string{"", "int"} // dense only: groups 1 written out or left out
	layoutForms   = []string{"", "nhwc", "nchw"}
)

// FieldForms lists every field's forms ("" = left out), for coverage checks.
var FieldForms = map[string][]string{
	"k": kForms, "stride": strideForms, "dilation": dilationForms, "pad": padForms,
	"bias": biasForms, "act": actForms, "shuffle": shuffleForms, "input": inputForms, "groups": groupsForms,
	"layout": layoutForms,
}

const (
	maxChannels = 64
	maxK        = 5
	// maxMACs bounds cout·(cin/groups)·kh·kw, the work per output pixel.
	maxMACs = 12_000
	// maxShuffledNCHW bounds the channels of a shuffled NCHW layer: its
	// kernel unrolls every group and channel block (each output plane is a
	// constant), which takes seconds to generate for 64 groups.
	maxShuffledNCHW = 16
)

// Layer is one random layer: its JSON object, the same layer as a -layer
// argument, and what it was drawn as.
type Layer struct {
	Name   string
	Family string
	Forms  map[string]string // field → form used ("" = left out)
	JSON   string            // the layer's JSON object, one line
	Inline string            // the same layer in the -layer form: name:key=value,...
}

// NCHW tells whether the layer was drawn with layout "nchw".
func (l Layer) NCHW() bool { return l.Forms["layout"] == "nchw" }

// Package is one random spec.
type Package struct {
	Name   string
	Layers []Layer
}

// JSON is the package's spec file.
func (p Package) JSON() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "{\"package\": %q, \"layers\": [\n", p.Name)
	for i, l := range p.Layers {
		b.WriteString("  " + l.JSON)
		if i < len(p.Layers)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]}\n")
	return []byte(b.String())
}

// deck deals the forms of one field over n layers: every form about
// equally often, in random order, so every form is used once n is at least
// the number of forms, and forms of different fields combine at random.
func deck(rng *rand.Rand, forms []string, n int) []string {
	d := make([]string, n)
	for i := range d {
		d[i] = forms[i%len(forms)]
	}
	rng.Shuffle(n, func(i, j int) { d[i], d[j] = d[j], d[i] })
	return d
}

// Inline is the package's layers as -layer arguments, in order.
func (p Package) Inline() []string {
	args := make([]string, len(p.Layers))
	for i, l := range p.Layers {
		args[i] = l.Inline
	}
	return args
}

// Random returns pkgs packages of perPkg layers each, all determined by
// seed. Every family and every field form occurs once pkgs·perPkg is at
// least 7 (the most forms a field has).
func Random(seed uint64, pkgs, perPkg int) []Package {
	rng := rand.New(rand.NewPCG(seed, 0x7377656570))
	n := pkgs * perPkg
	decks := map[string][]string{}
	fields := make([]string, 0, len(FieldForms))
	for field := range FieldForms {
		fields = append(fields, field)
	}
	sort.Strings(fields) // a map's order would make the seed's result vary
	for _, field := range fields {
		decks[field] = deck(rng, FieldForms[field], n)
	}
	families := deck(rng, Families, n)
	// groups is only left out for dense layers: deal its forms over those.
	dense := 0
	for _, f := range families {
		if f == "dense" {
			dense++
		}
	}
	denseGroups := deck(rng, groupsForms, max(dense, 1))
	var out []Package
	for p := 0; p < pkgs; p++ {
		pkg := Package{Name: fmt.Sprintf("sweep%d", p)}
		for j := 0; j < perPkg; j++ {
			i := p*perPkg + j
			forms := map[string]string{}
			for field := range FieldForms {
				forms[field] = decks[field][i]
			}
			forms["groups"] = "int"
			if families[i] == "dense" {
				dense--
				forms["groups"] = denseGroups[dense]
			}
			name := fmt.Sprintf("l%d_%s", j, families[i][:2])
			pkg.Layers = append(pkg.Layers, randomLayer(rng, name, families[i], forms))
		}
		out = append(out, pkg)
	}
	return out
}

// channels draws cin, cout and groups for a family, with at most limit
// channels.
func channels(rng *rand.Rand, family string, limit int) (cin, cout, groups int) {
	between := func(lo, hi int) int { return lo + rng.IntN(hi-lo+1) }
	switch family {
	case "depthwise":
		c := between(1, limit)
		return c, c, c
	case "multiplier": // cout = m·cin, groups = cin (m = 2, 4, 8 have a fast path; 3 does not)
		m := []int{2, 3, 4, 8}[rng.IntN(4)]
		cin = between(1, limit/m)
		return cin, m * cin, cin
	case "packed": // cin/G = cout/G = 2 or 4, cout a multiple of 8
		cg := []int{2, 4}[rng.IntN(2)]
		step := 8 / cg // groups in steps that keep cout a multiple of 8
		g := step * between(1, limit/cg/step)
		if g == 1 {
			g = 2
		}
		return g * cg, g * cg, g
	case "grouped": // none of the above: cin/G ≥ 2, not packable
		for {
			g := between(2, 8)
			cinG, coutG := between(2, limit/g), between(1, limit/g)
			if cinG == coutG && (cinG == 2 || cinG == 4) && g*coutG%8 == 0 {
				continue // that is the packed family
			}
			return g * cinG, g * coutG, g
		}
	case "dense", "pointwise":
		return between(1, limit), between(1, limit), 1
	}
	panic("specsweep: unknown family " + family)
}

// randomLayer draws one layer of family with the given field forms.
func randomLayer(rng *rand.Rand, name, family string, forms map[string]string) Layer {
	between := func(lo, hi int) int { return lo + rng.IntN(hi-lo+1) }
	limit := maxChannels
	if forms["layout"] == "nchw" && forms["shuffle"] == "groups" {
		limit = maxShuffledNCHW
	}
	cin, cout, groups := channels(rng, family, limit)
	kh, kw := between(1, maxK), between(1, maxK)
	switch family {
	case "pointwise":
		kh, kw = 1, 1
		if rng.IntN(3) == 0 { // a grouped 1×1 now and then (ShuffleNet)
			for _, g := range []int{8, 4, 3, 2} {
				if cin%g == 0 && cout%g == 0 && !(cin == cout && (cin/g == 2 || cin/g == 4) && cout%8 == 0) {
					groups = g
					break
				}
			}
		}
	case "dense":
		if kh == 1 && kw == 1 {
			kh = between(2, maxK)
		}
	}
	if forms["k"] == "int" {
		kw = kh
	}
	// Keep the work per output pixel bounded: fewer output channels first.
	for cout*(cin/groups)*kh*kw > maxMACs {
		switch {
		case family == "dense" || family == "pointwise" || family == "grouped":
			if cout > groups {
				cout -= groups
				continue
			}
			cin -= groups
		case kh > 1 || kw > 1:
			kh, kw = max(1, kh-1), max(1, kw-1)
		default:
			panic(fmt.Sprintf("specsweep: %s layer cin %d cout %d groups %d over the MAC bound", family, cin, cout, groups))
		}
	}

	// b is the JSON object, in the -layer items (one per field; cin and
	// cout together).
	var b strings.Builder
	var in []string
	add := func(json, inline string) {
		b.WriteString(json)
		in = append(in, inline)
	}
	fmt.Fprintf(&b, `{"name": %q`, name)
	add(fmt.Sprintf(`, "cin": %d, "cout": %d`, cin, cout), fmt.Sprintf("cin=%d,cout=%d", cin, cout))
	if forms["k"] == "int" {
		add(fmt.Sprintf(`, "k": %d`, kh), fmt.Sprintf("k=%d", kh))
	} else {
		add(fmt.Sprintf(`, "k": [%d, %d]`, kh, kw), fmt.Sprintf("k=%dx%d", kh, kw))
	}
	if forms["groups"] == "int" {
		add(fmt.Sprintf(`, "groups": %d`, groups), fmt.Sprintf("groups=%d", groups))
	}

	pair := func(field string, h, w int) {
		switch forms[field] {
		case "int":
			add(fmt.Sprintf(`, %q: %d`, field, h), fmt.Sprintf("%s=%d", field, h))
		case "pair":
			add(fmt.Sprintf(`, %q: [%d, %d]`, field, h, w), fmt.Sprintf("%s=%dx%d", field, h, w))
		}
	}
	sh, sw := between(1, 3), between(1, 3)
	dh, dw := between(1, 3), between(1, 3)
	if forms["stride"] != "pair" {
		sw = sh
	}
	if forms["dilation"] != "pair" {
		dw = dh
	}
	if forms["stride"] == "" {
		sh, sw = 1, 1
	}
	if forms["dilation"] == "" {
		dh, dw = 1, 1
	}
	pair("stride", sh, sw)
	pair("dilation", dh, dw)
	spanH, spanW := (kh-1)*dh+1, (kw-1)*dw+1

	// Each pad smaller than the span on its axis.
	pt, pl, pb, pr := rng.IntN(spanH), rng.IntN(spanW), rng.IntN(spanH), rng.IntN(spanW)
	switch forms["pad"] {
	case "int":
		p := rng.IntN(min(spanH, spanW))
		pt, pl, pb, pr = p, p, p, p
		add(fmt.Sprintf(`, "pad": %d`, p), fmt.Sprintf("pad=%d", p))
	case "pair":
		pb, pr = pt, pl
		add(fmt.Sprintf(`, "pad": [%d, %d]`, pt, pl), fmt.Sprintf("pad=%dx%d", pt, pl))
	case "four":
		add(fmt.Sprintf(`, "pad": [%d, %d, %d, %d]`, pt, pl, pb, pr), fmt.Sprintf("pad=%dx%dx%dx%d", pt, pl, pb, pr))
	case "same":
		add(`, "pad": "same"`, "pad=same")
		pt, pl, pb, pr = 0, 0, 0, 0
	case "valid":
		add(`, "pad": "valid"`, "pad=valid")
		pt, pl, pb, pr = 0, 0, 0, 0
	default:
		pt, pl, pb, pr = 0, 0, 0, 0
	}
	if forms["bias"] != "" {
		add(`, "bias": `+forms["bias"], "bias="+forms["bias"])
	}

	// Clamp bounds are multiples of 1/4, exact in float32.
	quarter := func(lo, hi int) string { return strconv.FormatFloat(float64(between(lo, hi))/4, 'g', -1, 64) }
	switch f := forms["act"]; f {
	case "none", "relu", "relu6":
		add(fmt.Sprintf(`, "act": %q`, f), "act="+f)
	case "clamp":
		lo := between(-12, 4)
		a, z := quarter(lo, lo), quarter(lo, lo+24)
		add(fmt.Sprintf(`, "act": {"min": %s, "max": %s}`, a, z), fmt.Sprintf("act=%s:%s", a, z))
	case "min":
		a := quarter(-8, 4)
		add(fmt.Sprintf(`, "act": {"min": %s}`, a), fmt.Sprintf("act=%s:", a))
	case "max":
		z := quarter(-4, 24)
		add(fmt.Sprintf(`, "act": {"max": %s}`, z), fmt.Sprintf("act=:%s", z))
	}
	switch forms["shuffle"] {
	case "one":
		add(`, "shuffle": 1`, "shuffle=1")
	case "groups":
		g := cout
		for _, d := range []int{groups, 4, 3, 2} {
			if d > 1 && cout%d == 0 {
				g = d
				break
			}
		}
		add(fmt.Sprintf(`, "shuffle": %d`, g), fmt.Sprintf("shuffle=%d", g))
	}
	if forms["input"] == "pair" {
		// The benchmark image: large enough for the kernel with its padding.
		ih, iw := max(1, spanH-pt-pb)+rng.IntN(9), max(1, spanW-pl-pr)+rng.IntN(9)
		add(fmt.Sprintf(`, "input": [%d, %d]`, ih, iw), fmt.Sprintf("input=%dx%d", ih, iw))
	}
	if f := forms["layout"]; f != "" {
		add(fmt.Sprintf(`, "layout": %q`, f), "layout="+f)
	}
	b.WriteString("}")
	// The inline items in another order than the JSON members: the order
	// of keys does not matter.
	rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
	return Layer{Name: name, Family: family, Forms: forms, JSON: b.String(), Inline: name + ":" + strings.Join(in, ",")}
}
