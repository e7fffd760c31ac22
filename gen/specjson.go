package gen

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// FormatSpec writes s as a JSON spec that ParseSpec reads back to the same
// layers (TestFormatSpecRoundTrip checks every field of
// cmd/convgen/testdata/every_field.json): one layer per line, in the presets' style, with fields left out
// where they have their default. `convgen -emit-spec` uses it, so that a
// layer list taken from a model can be edited by hand.
func FormatSpec(s *Spec) []byte {
	var b bytes.Buffer
	b.WriteString("{")
	if s.Package != "" {
		fmt.Fprintf(&b, "\"package\": %s,\n ", strconv.Quote(s.Package))
	}
	b.WriteString("\"layers\": [\n")
	for i, l := range s.Layers {
		b.WriteString("  " + formatLayer(l))
		if i < len(s.Layers)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(" ]")
	if len(s.Blocks) > 0 {
		b.WriteString(",\n \"blocks\": [\n")
		for i, bl := range s.Blocks {
			fmt.Fprintf(&b, "  {\"name\": %s, \"depthwise\": %s, \"pointwise\": %s}",
				strconv.Quote(bl.Name), strconv.Quote(bl.Depthwise), strconv.Quote(bl.Pointwise))
			if i < len(s.Blocks)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(" ]")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func formatLayer(l Layer) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"name": %s, "cin": %d, "cout": %d, "k": %s`, strconv.Quote(l.Name), l.Cin, l.Cout, jsonPair(l.KH, l.KW))
	if l.Groups != 1 {
		fmt.Fprintf(&b, `, "groups": %d`, l.Groups)
	}
	if l.StrideH != 1 || l.StrideW != 1 {
		fmt.Fprintf(&b, `, "stride": %s`, jsonPair(l.StrideH, l.StrideW))
	}
	p := l.Pad
	switch {
	case p.Same:
		b.WriteString(`, "pad": "same"`)
	case p == Padding{}:
	case p.Top == p.Bottom && p.Left == p.Right:
		fmt.Fprintf(&b, `, "pad": %s`, jsonPair(p.Top, p.Left))
	default:
		fmt.Fprintf(&b, `, "pad": [%d, %d, %d, %d]`, p.Top, p.Left, p.Bottom, p.Right)
	}
	if l.DilationH != 1 || l.DilationW != 1 {
		fmt.Fprintf(&b, `, "dilation": %s`, jsonPair(l.DilationH, l.DilationW))
	}
	if l.Bias {
		b.WriteString(`, "bias": true`)
	}
	switch l.Act.Kind {
	case ActNone:
	case ActReLU, ActReLU6:
		fmt.Fprintf(&b, `, "act": %q`, l.Act.Kind)
	default:
		var parts []string
		if !math.IsInf(float64(l.Act.Min), -1) {
			parts = append(parts, `"min": `+formatFloat32(l.Act.Min))
		}
		if !math.IsInf(float64(l.Act.Max), 1) {
			parts = append(parts, `"max": `+formatFloat32(l.Act.Max))
		}
		b.WriteString(`, "act": {`)
		for i, part := range parts {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(part)
		}
		b.WriteString("}")
	}
	if l.NCHW {
		b.WriteString(`, "layout": "nchw"`)
	}
	if l.Shuffle != 0 {
		fmt.Fprintf(&b, `, "shuffle": %d`, l.Shuffle)
	}
	if l.InputH != 0 || l.InputW != 0 {
		fmt.Fprintf(&b, `, "input": [%d, %d]`, l.InputH, l.InputW)
	}
	b.WriteString("}")
	return b.String()
}

func jsonPair(h, w int) string {
	if h == w {
		return strconv.Itoa(h)
	}
	return fmt.Sprintf("[%d, %d]", h, w)
}
