package gen

import (
	"encoding/json"
	"fmt"
)

// Block fuses a depthwise layer with the 1×1 layer that follows it
// (MobileNet's depthwise-separable pair): the generated block type runs
// both in one pass, row by row, without writing the depthwise output as a
// feature map. Both layers keep their own types too.
type Block struct {
	Name      string
	Index     int    // 1-based position among the spec's blocks
	Depthwise string // the depthwise layer's name
	Pointwise string // the 1×1 layer's name
}

// TypeName is the exported Go type generated for the block (the rule of
// layer names).
func (b Block) TypeName() string { return Layer{Name: b.Name}.TypeName() }

// packageNames are the exported names every generated package declares
// once (its example and dispatch test).
var packageNames = []string{"Example", "TestDispatch"}

// testNames are the exported names the generated tests declare per layer.
func testNames(t string) []string {
	return []string{"Test" + t, "Test" + t + "Concurrent", "Fuzz" + t, "Benchmark" + t}
}

// blockFields are the keys of a block object.
var blockFields = []string{"name", "depthwise", "pointwise"}

// parseBlocks reads the spec's "blocks" array.
func parseBlocks(source string, raw json.RawMessage) ([]Block, []error) {
	var items []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, []error{fmt.Errorf("%s", prefix(source, "blocks: want an array of {\"name\", \"depthwise\", \"pointwise\"}, got "+shortJSON(raw)))}
	}
	var blocks []Block
	var errs []error
	for i, item := range items {
		b := Block{Index: i + 1}
		where := func() string {
			if b.Name != "" {
				return fmt.Sprintf("block %d %q", b.Index, b.Name)
			}
			return fmt.Sprintf("block %d", b.Index)
		}
		fields, ok := objectFields(item)
		if !ok {
			errs = append(errs, fmt.Errorf("%s", prefix(source, fmt.Sprintf("block %d: want an object, got %s", i+1, shortJSON(item)))))
			continue
		}
		seen := map[string]bool{}
		var bad []string
		for _, f := range fields {
			s, isString := jsonString(f.value)
			switch {
			case !contains(blockFields, f.key):
				bad = append(bad, fmt.Sprintf("unknown field %q", f.key))
			case seen[f.key]:
				bad = append(bad, fmt.Sprintf("duplicate field %q", f.key))
			case !isString:
				bad = append(bad, fmt.Sprintf("%s: want a layer name (a string), got %s", f.key, shortJSON(f.value)))
			case f.key == "name":
				b.Name = s
			case f.key == "depthwise":
				b.Depthwise = s
			default:
				b.Pointwise = s
			}
			seen[f.key] = true
		}
		for _, msg := range bad {
			errs = append(errs, fmt.Errorf("%s", prefix(source, where()+": "+msg)))
		}
		blocks = append(blocks, b)
	}
	return blocks, errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkBlocks validates the blocks against the layers: names (and the Go
// types they make) unique among layers and blocks, both layers present,
// the first depthwise, the second 1×1 with stride 1 and no padding reading
// exactly the first one's output channels.
func (s *Spec) checkBlocks(layers []Layer) []error {
	var errs []error
	byName := map[string]Layer{}
	exported := map[string]string{} // exported Go name (type or constructor) → what made it
	for _, l := range layers {
		byName[l.Name] = l
		what := fmt.Sprintf("layer %d %q", l.Index, l.Name)
		exported[l.TypeName()], exported["New"+l.TypeName()] = what, what
	}
	// The generated tests declare more names; a layer named testA beside a
	// layer a would make type TestA beside func TestA. Reported once per
	// layer, after the type and constructor clashes checkNames reports.
	for _, name := range packageNames {
		exported[name] = "the generated package"
	}
	typeCount := map[string]int{}
	for _, l := range layers {
		typeCount[l.TypeName()]++
	}
	for _, l := range layers {
		t := l.TypeName()
		if layerNameProblem(l.Name) != "" || typeCount[t] > 1 || typeCount["New"+t] > 0 || (len(t) > 3 && t[:3] == "New" && typeCount[t[3:]] > 0) {
			continue // checkNames reports these clashes
		}
		what := fmt.Sprintf("layer %d %q", l.Index, l.Name)
		if other, ok := exported[l.TypeName()]; ok && other == "the generated package" {
			errs = append(errs, fmt.Errorf("%s", prefix(s.Source, fmt.Sprintf("%s: Go type name %s is also a name the generated package declares", what, l.TypeName()))))
			continue
		}
		for _, name := range testNames(l.TypeName()) {
			if other, ok := exported[name]; ok && other != what {
				errs = append(errs, fmt.Errorf("%s", prefix(s.Source, fmt.Sprintf("%s: its test %s clashes with the Go names of %s", what, name, other))))
				break
			}
			exported[name] = what
		}
	}
	for _, b := range s.Blocks {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s", prefix(s.Source, fmt.Sprintf("block %d %q: ", b.Index, b.Name)+fmt.Sprintf(format, args...))))
		}
		if msg := layerNameProblem(b.Name); msg != "" {
			fail("%s", msg)
			continue
		}
		t := b.TypeName()
		for _, name := range []string{t, "New" + t} {
			if what, ok := exported[name]; ok {
				fail("Go name %s is also made by %s", name, what)
				break
			}
		}
		what := fmt.Sprintf("block %d %q", b.Index, b.Name)
		exported[t], exported["New"+t] = what, what
		for _, name := range []string{"Test" + t, "Benchmark" + t} {
			if other, ok := exported[name]; ok {
				fail("its test %s clashes with the Go names of %s", name, other)
				break
			}
			exported[name] = what
		}
		dw, okDW := byName[b.Depthwise]
		pw, okPW := byName[b.Pointwise]
		switch {
		case b.Depthwise == "":
			fail("depthwise is required (the name of a depthwise layer)")
		case !okDW:
			fail("depthwise %q: no such layer", b.Depthwise)
		case dw.Groups != dw.Cin:
			fail("depthwise %q: not a depthwise layer (groups=%d, cin=%d; want groups == cin)", dw.Name, dw.Groups, dw.Cin)
		case dw.NCHW:
			fail(`depthwise %q: layout "nchw": fused blocks are NHWC only (the row buffer is a pixel row of channels)`, dw.Name)
		}
		switch {
		case b.Pointwise == "":
			fail("pointwise is required (the name of a 1x1 layer)")
		case !okPW:
			fail("pointwise %q: no such layer", b.Pointwise)
		case pw.KH != 1 || pw.KW != 1 || pw.StrideH != 1 || pw.StrideW != 1 ||
			pw.Pad.Top+pw.Pad.Left+pw.Pad.Bottom+pw.Pad.Right != 0:
			fail("pointwise %q: must be a 1x1 convolution with stride 1 and no padding", pw.Name)
		case pw.NCHW:
			fail(`pointwise %q: layout "nchw": fused blocks are NHWC only (the row buffer is a pixel row of channels)`, pw.Name)
		case okDW && pw.Cin != dw.Cout:
			fail("pointwise %q has cin=%d, want the depthwise layer's cout=%d", pw.Name, pw.Cin, dw.Cout)
		}
	}
	return errs
}
