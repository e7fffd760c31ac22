package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostilePaths are the files and directories a hostile case can point at;
// all live under one temporary directory whose whole tree must be the same
// after the case as before.
type hostilePaths struct {
	dir  string // the temporary root
	out  string // a generated package with a hand-written file beside it
	good string // a valid spec
	file string // a regular file
	ro   string // a directory convgen cannot write into (see unwritableOut)
	in   func(name string) string
}

// hostileCase is one input convgen must refuse: exit status 2, one line per
// problem (want holds one substring per expected line, in order), the first
// line starting with "convgen: ", and nothing changed on disk.
type hostileCase struct {
	name string
	spec string // written to in(name).json when not empty; "-" for an empty file
	args func(p hostilePaths) []string
	want []string
}

func specArgs(p hostilePaths, name string) []string {
	return []string{"-spec", p.in(name), "-out", p.out}
}

// layerJSON wraps the members of one layer in a spec with package k.
func layerJSON(members string) string {
	return `{"package": "k", "layers": [{` + members + `}]}`
}

const longName = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"

func hostileCases() []hostileCase {
	spec := func(name, text string, want ...string) hostileCase {
		return hostileCase{name: name, spec: text, args: func(p hostilePaths) []string { return specArgs(p, name) }, want: want}
	}
	cli := func(name string, args func(p hostilePaths) []string, want ...string) hostileCase {
		return hostileCase{name: name, args: args, want: want}
	}
	inline := func(name, layer string, want ...string) hostileCase {
		return cli(name, func(p hostilePaths) []string { return []string{"-layer", layer, "-pkg", "k", "-out", p.out} }, want...)
	}
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	var many strings.Builder
	many.WriteString(`{"package": "k", "layers": [`)
	for i := 0; i < 257; i++ {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"name": "l%d", "cin": 8, "cout": 8, "k": 1}`, i)
	}
	many.WriteString("]}")

	cases := []hostileCase{
		// The file as a whole.
		spec("empty", "-", "empty.json: no layers"),
		spec("blank", " \n\t\n", "blank.json: no layers"),
		spec("not_json", "hello", "not_json.json: invalid JSON at line 1, column 1"),
		spec("binary", "\x00\xff\xfe\x01", "binary.json: invalid JSON at line 1, column 1"),
		spec("bom", "\xef\xbb\xbf"+layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1`), "bom.json: invalid JSON at line 1, column 1"),
		spec("truncated", "{\"layers\": [\n", "truncated.json: invalid JSON at line 2, column 1: unexpected end of JSON input"),
		spec("trailing", `{"layers": []} x`, "trailing.json: invalid JSON at line 1, column 16"),
		spec("deep", deep, "deep.json: invalid JSON at line 1, column 10001: invalid character '[' exceeded max depth"),
		spec("array", `[{"name": "a"}]`, `array.json: want a JSON object with "layers"`),
		spec("layers_object", `{"layers": {}}`, "layers_object.json: layers: want an array of layers"),
		spec("layers_empty", `{"layers": []}`, "layers_empty.json: no layers"),
		spec("unknown_top", `{"package": "k", "layerz": []}`, `unknown_top.json: unknown field "layerz"`, "unknown_top.json: no layers"),
		spec("layer_not_object", `{"package": "k", "layers": [7]}`, "layer_not_object.json: layer 1: want an object, got 7"),
		spec("too_many_layers", many.String(), "too_many_layers.json: 257 layers: at most 256 are allowed"),
		// Names.
		spec("duplicate_names", `{"package": "k", "layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}, {"name": "a", "cin": 8, "cout": 8, "k": 3}]}`,
			`duplicate_names.json: layer 2 "a": name "a" is used again (also layer 1)`),
		spec("same_go_type", `{"package": "k", "layers": [{"name": "dw", "cin": 8, "cout": 8, "k": 1}, {"name": "Dw", "cin": 8, "cout": 8, "k": 3}]}`,
			`same_go_type.json: layer 2 "Dw": Go type name Dw is also the type of layer 1 "dw"`),
		spec("constructor_clash", `{"package": "k", "layers": [{"name": "x", "cin": 8, "cout": 8, "k": 1}, {"name": "newX", "cin": 8, "cout": 8, "k": 1}]}`,
			`constructor_clash.json: layer 2 "newX": Go type name NewX clashes with the constructor of layer 1 "x"`),
		spec("name_missing", layerJSON(`"cin": 8, "cout": 8, "k": 1`), "name_missing.json: layer 1: name is required"),
		spec("name_dash", layerJSON(`"name": "my-layer", "cin": 8, "cout": 8, "k": 1`), `name_dash.json: layer 1 "my-layer": name "my-layer": must start with an ASCII letter`),
		spec("name_digit", layerJSON(`"name": "1abc", "cin": 8, "cout": 8, "k": 1`), `name_digit.json: layer 1 "1abc": name "1abc": must start with an ASCII letter`),
		spec("name_unicode", layerJSON(`"name": "ü", "cin": 8, "cout": 8, "k": 1`), `name_unicode.json: layer 1 "ü": name "ü": must start with an ASCII letter`),
		spec("name_newline", layerJSON(`"name": "a\nb", "cin": 8, "cout": 8, "k": 1`), `name_newline.json: layer 1 "a\nb": name "a\nb"`),
		spec("name_empty", layerJSON(`"name": "", "cin": 8, "cout": 8, "k": 1`), `name_empty.json: layer 1: name is required`),
		spec("name_long", layerJSON(`"name": "`+longName+`", "cin": 8, "cout": 8, "k": 1`), "is 78 characters long, at most 64 are allowed"),
		spec("name_number", layerJSON(`"name": 7, "cin": 8, "cout": 8, "k": 1`), `name_number.json: layer 1: name: want a string, got 7`),
		// Package names.
		spec("package_keyword", `{"package": "func", "layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}]}`, `package_keyword.json: package "func": must not be a Go keyword`),
		spec("package_main", `{"package": "main", "layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}]}`, `package_main.json: package "main"`),
		spec("package_upper", `{"package": "Kernels", "layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}]}`, `package_upper.json: package "Kernels": must be a lower-case Go identifier`),
		spec("package_number", `{"package": 3, "layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}]}`, `package_number.json: package: want a string, got 3`),
		cli("pkg_flag_not_identifier", func(p hostilePaths) []string { return []string{"-spec", p.good, "-pkg", "my-pkg", "-out", p.out} }, `package "my-pkg": must be a lower-case Go identifier`),
		cli("pkg_flag_digit", func(p hostilePaths) []string { return []string{"-spec", p.good, "-pkg", "9x", "-out", p.out} }, `package "9x"`),
		cli("pkg_flag_blank", func(p hostilePaths) []string { return []string{"-spec", p.good, "-pkg", "_", "-out", p.out} }, `package "_": the blank identifier`),
		cli("pkg_flag_space", func(p hostilePaths) []string { return []string{"-spec", p.good, "-pkg", "a b", "-out", p.out} }, `package "a b"`),
		cli("no_package", func(p hostilePaths) []string { return []string{"-layer", "a:cin=8,cout=8,k=1", "-out", p.out} }, "no package name"),
		// Values.
		spec("cin_zero", layerJSON(`"name": "a", "cin": 0, "cout": 8, "k": 1`), `cin_zero.json: layer 1 "a": cin=0: channel count must be between 1 and 4096`),
		spec("cin_cout_negative", layerJSON(`"name": "a", "cin": -1, "cout": -8, "k": 1`), `layer 1 "a": cin=-1`, `layer 1 "a": cout=-8`),
		spec("cin_huge", layerJSON(`"name": "a", "cin": 5000, "cout": 8, "k": 1`), `layer 1 "a": cin=5000: channel count must be between 1 and 4096`),
		spec("cin_overflow", layerJSON(`"name": "a", "cin": 99999999999999999999, "cout": 8, "k": 1`), `layer 1 "a": cin: 99999999999999999999 is out of range`),
		spec("cin_float", layerJSON(`"name": "a", "cin": 8.5, "cout": 8, "k": 1`), `layer 1 "a": cin: want an integer, got 8.5`),
		spec("cin_exponent", layerJSON(`"name": "a", "cin": 1e3, "cout": 8, "k": 1`), `layer 1 "a": cin: want an integer, got 1e3`),
		spec("cin_string", layerJSON(`"name": "a", "cin": "8", "cout": 8, "k": 1`), `layer 1 "a": cin: want an integer, got "8"`),
		spec("cin_null", layerJSON(`"name": "a", "cin": null, "cout": 8, "k": 1`), `layer 1 "a": cin: want an integer, got null`),
		spec("required_missing", layerJSON(`"name": "a"`), `layer 1 "a": cin is required`, `layer 1 "a": cout is required`, `layer 1 "a": k is required`),
		spec("k_zero", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 0`), `layer 1 "a": k=0: kernel size must be between 1 and 11`),
		spec("k_over_limit", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 12`), `layer 1 "a": k=12: kernel size must be between 1 and 11`),
		spec("k_pair_zero", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": [0, 3]`), `layer 1 "a": k=[0,3]`),
		spec("k_one_element", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": [3]`), `layer 1 "a": k: want an int or [kh, kw], got [3]`),
		spec("k_negative", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": -3`), `layer 1 "a": k=-3`),
		spec("groups_zero", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "groups": 0`), `layer 1 "a": groups=0: groups must be at least 1`),
		spec("groups_not_dividing", layerJSON(`"name": "a", "cin": 32, "cout": 32, "k": 3, "groups": 3`),
			`layer 1 "a": groups=3 does not divide cin=32`, `layer 1 "a": groups=3 does not divide cout=32`),
		spec("groups_not_dividing_cout", layerJSON(`"name": "a", "cin": 8, "cout": 12, "k": 3, "groups": 8`), `layer 1 "a": groups=8 does not divide cout=12`),
		spec("pad_over_span", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 3, "pad": 3`), `layer 1 "a": pad=3: top pad 3 must be less than the kernel's height span 3`),
		spec("pad_four_over_span", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 3, "pad": [0, 0, 0, 5]`), `layer 1 "a": pad=[0,0,0,5]: right pad 5`),
		spec("pad_negative", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 3, "pad": -1`), `layer 1 "a": pad=-1: padding must not be negative`),
		spec("pad_word", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 3, "pad": "full"`), `layer 1 "a": pad: want an int, [ph, pw], [top, left, bottom, right], "same" or "valid", got "full"`),
		spec("stride_zero", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 3, "stride": 0`), `layer 1 "a": stride=0: stride must be between 1 and 8`),
		spec("stride_pair_zero", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 3, "stride": [1, 0]`), `layer 1 "a": stride=[1,0]`),
		spec("stride_huge", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 3, "stride": 9`), `layer 1 "a": stride=9`),
		spec("dilation_zero", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 3, "dilation": 0`), `layer 1 "a": dilation=0: dilation must be between 1 and 8`),
		spec("weights_over_limit", layerJSON(`"name": "a", "cin": 2048, "cout": 8, "k": 3`), `layer 1 "a": (cin/groups)*kh*kw = 2048*3*3 = 18432`),
		spec("act_unknown", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "act": "gelu"`), `layer 1 "a": act: want "none", "relu", "relu6"`),
		spec("act_min_over_max", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "act": {"min": 2, "max": 1}`), `layer 1 "a": act=clamp(2,1): min 2 must not be greater than max 1`),
		spec("act_bound_string", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "act": {"min": "x"}`), `layer 1 "a": act: min: want a number`),
		spec("act_bound_inf", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "act": {"max": 1e39}`), `layer 1 "a": act: max=1e39: must be a finite float32 number`),
		spec("act_unknown_bound", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "act": {"mid": 1}`), `layer 1 "a": act: unknown field "mid"`),
		spec("bias_word", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "bias": "yes"`), `layer 1 "a": bias: want true or false, got "yes"`),
		spec("unknown_field", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "strides": 2`), `layer 1 "a": unknown field "strides"`),
		spec("duplicate_field", layerJSON(`"name": "a", "cin": 8, "cin": 16, "cout": 8, "k": 1`), `layer 1 "a": duplicate field "cin"`),
		spec("shuffle_not_dividing", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "shuffle": 3`), `layer 1 "a": shuffle=3 does not divide cout=8`),
		spec("shuffle_negative", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "shuffle": -2`), `layer 1 "a": shuffle=-2`),
		spec("input_too_small", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 5, "input": [2, 2]`), `layer 1 "a": input=2: smaller than the kernel span 5`),
		// The layout field.
		spec("layout_upper_case", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "layout": "NCHW"`),
			`layout_upper_case.json: layer 1 "a": layout: want "nhwc" or "nchw", got "NCHW"`),
		spec("layout_number", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "layout": 3`), `layout_number.json: layer 1 "a": layout: want "nhwc" or "nchw", got 3`),
		spec("layout_null", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "layout": null`), `layer 1 "a": layout: want "nhwc" or "nchw", got null`),
		spec("layout_array", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "layout": ["nchw"]`), `layer 1 "a": layout: want "nhwc" or "nchw", got ["nchw"]`),
		spec("layout_twice", layerJSON(`"name": "a", "cin": 8, "cout": 8, "k": 1, "layout": "nchw", "layout": "nchw"`), `layer 1 "a": duplicate field "layout"`),
		spec("layout_and_cin_wrong", `{"package": "k", "layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}, {"name": "b", "cin": 0, "cout": 8, "k": 1, "layout": "chw"}]}`,
			`layout_and_cin_wrong.json: layer 2 "b": layout: want "nhwc" or "nchw", got "chw"`, `layout_and_cin_wrong.json: layer 2 "b": cin=0`),
		spec("block_nchw_depthwise", `{"package": "k", "layers": [{"name": "dw", "cin": 8, "cout": 8, "k": 3, "groups": 8, "pad": 1, "layout": "nchw"}, {"name": "pw", "cin": 8, "cout": 16, "k": 1}],
			"blocks": [{"name": "sep", "depthwise": "dw", "pointwise": "pw"}]}`,
			`block_nchw_depthwise.json: block 1 "sep": depthwise "dw": layout "nchw": fused blocks are NHWC only`),
		spec("block_nchw_both", `{"package": "k", "layers": [{"name": "dw", "cin": 8, "cout": 8, "k": 3, "groups": 8, "pad": 1, "layout": "nchw"}, {"name": "pw", "cin": 8, "cout": 16, "k": 1, "layout": "nchw"}],
			"blocks": [{"name": "sep", "depthwise": "dw", "pointwise": "pw"}]}`,
			`block 1 "sep": depthwise "dw": layout "nchw"`, `block 1 "sep": pointwise "pw": layout "nchw"`),
		spec("several_layers_wrong", `{"package": "k", "layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}, {"name": "b", "cin": 0, "cout": 8, "k": 1}, {"name": "c", "cin": 8, "cout": 8, "k": 3, "stride": 0}]}`,
			`layer 2 "b": cin=0`, `layer 3 "c": stride=0`),
		// The -layer form.
		inline("inline_no_colon", "x", `-layer 1: missing ":" after the layer name`),
		inline("inline_stray_comma", "a:cin=8,,cout=8,k=1", `-layer 1: layer "a": empty item in the key=value list`),
		inline("inline_unknown_key", "a:cin=8,cout=8,k=1,foo=1", `-layer 1: layer "a": unknown key "foo"`),
		inline("inline_key_twice", "a:cin=8,cin=16,cout=8,k=1", `-layer 1: layer "a": key "cin" is given twice`),
		inline("inline_not_int", "a:cin=x,cout=8,k=1", `-layer 1: layer "a": cin: want an integer, got "x"`),
		inline("inline_space_in_name", "a b:cin=8,cout=8,k=1", `-layer 1: layer "a b": name "a b"`),
		inline("inline_newline_name", "a\nb:cin=8,cout=8,k=1", `-layer 1: layer "a\nb": name "a\nb"`),
		inline("inline_stride_zero", "a:cin=8,cout=8,k=3,stride=0", `-layer 1: layer "a": stride=0`),
		inline("inline_k_beyond_limit", "a:cin=8,cout=8,k=3x12", `-layer 1: layer "a": k=3x12: kernel size must be between 1 and 11`),
		inline("inline_pad_over_span", "a:cin=8,cout=8,k=3,pad=1x3", `-layer 1: layer "a": pad=1x3: left pad 3`),
		inline("inline_clamp_not_number", "a:cin=8,cout=8,k=1,act=x:1", `-layer 1: layer "a": act: min: want a number, got "x"`),
		inline("inline_layout_chw", "a:cin=8,cout=8,k=1,layout=chw", `-layer 1: layer "a": layout: want "nhwc" or "nchw", got "chw"`),
		inline("inline_layout_upper_case", "a:cin=8,cout=8,k=1,layout=NCHW", `-layer 1: layer "a": layout: want "nhwc" or "nchw", got "NCHW"`),
		inline("inline_layout_empty", "a:cin=8,cout=8,k=1,layout=", `-layer 1: layer "a": layout: want "nhwc" or "nchw", got ""`),
		inline("inline_layout_twice", "a:cin=8,cout=8,k=1,layout=nchw,layout=nhwc", `-layer 1: layer "a": key "layout" is given twice`),
		cli("inline_layout_second_flag", func(p hostilePaths) []string {
			return []string{"-layer", "a:cin=8,cout=8,k=1,layout=nchw", "-layer", "b:cin=8,cout=8,k=1,layout=nhcw", "-pkg", "k", "-out", p.out}
		}, `-layer 2: layer "b": layout: want "nhwc" or "nchw", got "nhcw"`),
		cli("inline_duplicate", func(p hostilePaths) []string {
			return []string{"-layer", "a:cin=8,cout=8,k=1", "-layer", "a:cin=8,cout=8,k=3", "-pkg", "k", "-out", p.out}
		}, `-layer 2: layer "a": name "a" is used again (also -layer 1)`),
		cli("spec_and_inline_clash", func(p hostilePaths) []string {
			return []string{"-spec", p.good, "-layer", "dw:cin=8,cout=8,k=1", "-out", p.out}
		}, `-layer 1: layer "dw": name "dw" is used again`),
		// Files and directories.
		cli("spec_missing", func(p hostilePaths) []string { return []string{"-spec", p.in("missing"), "-out", p.out} }, "missing.json: no such file or directory"),
		cli("spec_is_directory", func(p hostilePaths) []string { return []string{"-spec", p.dir, "-out", p.out} }, "is a directory"),
		cli("no_layers", func(p hostilePaths) []string { return []string{"-out", p.out} }, "no layers: give -spec FILE"),
		cli("unexpected_argument", func(p hostilePaths) []string { return []string{"-spec", p.good, "-out", p.out, "extra"} }, `unexpected argument "extra"`),
		cli("out_is_file", func(p hostilePaths) []string { return []string{"-spec", p.good, "-out", p.file} }, "exists and is not a directory"),
		cli("out_under_file", func(p hostilePaths) []string {
			return []string{"-spec", p.good, "-out", filepath.Join(p.file, "sub")}
		}, "not a directory"),
		cli("out_name_too_long", func(p hostilePaths) []string {
			return []string{"-spec", p.good, "-out", filepath.Join(p.dir, strings.Repeat("x", 300))}
		}, "file name too long"),
		{name: "out_missing_parents_then_fails", args: func(p hostilePaths) []string {
			return []string{"-spec", p.good, "-out", filepath.Join(p.dir, "new", "deeper", strings.Repeat("x", 300))}
		}, want: []string{"file name too long"}},
		cli("out_unwritable", func(p hostilePaths) []string { return []string{"-spec", p.good, "-out", p.ro} }, ""),
		cli("out_hand_written_file", func(p hostilePaths) []string {
			return []string{"-layer", "a:cin=8,cout=8,k=1", "-pkg", "k", "-out", filepath.Join(p.dir, "handwritten")}
		}, "was not generated by convgen; refusing to overwrite it"),
		cli("out_generated_name_is_directory", func(p hostilePaths) []string {
			return []string{"-layer", "a:cin=8,cout=8,k=1", "-pkg", "k", "-out", filepath.Join(p.dir, "dirclash")}
		}, "layers.go: exists and was not generated by convgen"),
		cli("weights_without_onnx", func(p hostilePaths) []string {
			return []string{"-spec", p.good, "-weights", filepath.Join(p.dir, "w.bin"), "-out", p.out}
		}, "-weights needs -onnx"),
		cli("onnx_not_a_model", func(p hostilePaths) []string { return []string{"-onnx", p.file, "-pkg", "k", "-out", p.out} }, "afile"),
		{name: "emit_spec_onto_directory", args: func(p hostilePaths) []string {
			// Another package than the one in p.out, so that writing it shows.
			return []string{"-layer", "b:cin=8,cout=16,k=1", "-pkg", "k", "-emit-spec", p.dir, "-out", p.out}
		}, want: []string{""}},
		{name: "unknown_flag", args: func(p hostilePaths) []string { return []string{"-bogus", "-out", p.out} },
			want: []string{"flag provided but not defined: -bogus"}},
	}
	return cases
}

// entry is one file or directory of a tree.
type entry struct {
	dir  bool
	mode fs.FileMode
	data string
}

// tree maps every file and directory under dir (relative path) to its
// kind, mode and contents.
func tree(t *testing.T, dir string) map[string]entry {
	t.Helper()
	m := map[string]entry{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(path, dir)
		if d.IsDir() {
			m[rel] = entry{dir: true, mode: info.Mode()}
			return nil
		}
		b, err := os.ReadFile(path)
		m[rel] = entry{mode: info.Mode(), data: string(b)}
		return err
	})
	require.NoError(t, err)
	return m
}

// unwritableOut makes a directory convgen cannot write into. chmod 0o555
// stops writes for ordinary users, not for root (CI runs as root): then an
// -out under a regular file stands in, whose MkdirAll fails whoever runs.
func unwritableOut(t *testing.T, dir string) string {
	ro := filepath.Join(dir, "readonly")
	require.NoError(t, os.Mkdir(ro, 0o755))
	writeFile(t, ro, "keep.txt", "mine\n")
	require.NoError(t, os.Chmod(ro, 0o555))
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	probe := filepath.Join(ro, "probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		return ro // the permission bits hold
	}
	require.NoError(t, os.Remove(probe))
	file := filepath.Join(dir, "readonly-stand-in")
	writeFile(t, dir, "readonly-stand-in", "a file\n")
	return filepath.Join(file, "sub")
}

// TestHostileInputs feeds convgen every kind of bad input a user can give:
// broken files, bad names and values, bad flags, paths it cannot write.
// Each must give exit status 2 and one line per problem, name the file,
// layer and field where there is one, and leave everything on disk as it
// was: the output directory (holding a generated package and a hand-written
// file) and every other file and directory under the test's root.
func TestHostileInputs(t *testing.T) {
	dir := t.TempDir()
	p := hostilePaths{dir: dir, out: filepath.Join(dir, "out")}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "in"), 0o755))
	p.in = func(name string) string { return filepath.Join(dir, "in", name+".json") }
	p.good = writeFile(t, dir, "good.json", `{"package": "k", "layers": [{"name": "dw", "cin": 8, "cout": 8, "k": 3, "groups": 8, "pad": 1}]}`)
	p.file = writeFile(t, dir, "afile", "not a directory\n")
	var stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"-spec", p.good, "-out", p.out}, &stderr), stderr.String())
	writeFile(t, p.out, "doc.go", "package k\n\n//go:generate convgen -spec ../good.json\n")
	hand := filepath.Join(dir, "handwritten")
	require.NoError(t, os.Mkdir(hand, 0o755))
	writeFile(t, hand, "layers.go", "package k // mine\n")
	clash := filepath.Join(dir, "dirclash")
	require.NoError(t, os.MkdirAll(filepath.Join(clash, "layers.go"), 0o755))
	p.ro = unwritableOut(t, dir)

	cases := hostileCases()
	for _, c := range cases {
		if c.spec == "-" {
			writeFile(t, filepath.Join(dir, "in"), c.name+".json", "")
		} else if c.spec != "" {
			writeFile(t, filepath.Join(dir, "in"), c.name+".json", c.spec)
		}
	}
	before := tree(t, dir)
	outBefore := snapshot(t, p.out)
	tried := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tried++
			args := c.args(p)
			var stderr bytes.Buffer
			code := run(args, &stderr)
			text := strings.TrimSuffix(stderr.String(), "\n")
			lines := strings.Split(text, "\n")
			after := tree(t, dir)
			changed := treeDiff(before, after)
			assert.Equal(t, 2, code, "exit status for %q", args)
			if assert.Len(t, lines, len(c.want), "want one line per problem, got:\n%s", text) {
				for i, w := range c.want {
					assert.Contains(t, lines[i], w, "line %d", i+1)
				}
			}
			assert.True(t, strings.HasPrefix(text, "convgen: ") || c.name == "unknown_flag", "first line %q", lines[0])
			for _, l := range lines {
				assert.NotEmpty(t, strings.TrimSpace(l), "empty line in:\n%s", text)
			}
			assert.Empty(t, changed, "files or directories under the test directory changed")
			assert.True(t, assert.ObjectsAreEqual(outBefore, snapshot(t, p.out)), "the output directory changed")
			if len(changed) > 0 {
				restore(t, dir, before)
			}
		})
	}
	t.Logf("%d hostile inputs tried", tried)
}

// treeDiff lists the paths added, removed or changed between two trees.
func treeDiff(before, after map[string]entry) []string {
	var d []string
	for p, v := range after {
		if w, ok := before[p]; !ok {
			d = append(d, "added "+p)
		} else if w != v {
			d = append(d, "changed "+p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			d = append(d, "removed "+p)
		}
	}
	sort.Strings(d)
	return d
}

// restore puts the tree under dir back as it was, so that a failing or
// known-bad case does not spoil the next ones.
func restore(t *testing.T, dir string, before map[string]entry) {
	t.Helper()
	after := tree(t, dir)
	for rel := range after {
		if _, ok := before[rel]; !ok {
			require.NoError(t, os.RemoveAll(filepath.Join(dir, rel)))
		}
	}
	var paths []string
	for rel := range before {
		paths = append(paths, rel)
	}
	sort.Strings(paths) // parents first
	for _, rel := range paths {
		e, path := before[rel], filepath.Join(dir, rel)
		if a, ok := after[rel]; ok && a == e {
			continue
		}
		if e.dir {
			require.NoError(t, os.MkdirAll(path, 0o755))
			require.NoError(t, os.Chmod(path, e.mode.Perm()))
			continue
		}
		require.NoError(t, os.WriteFile(path, []byte(e.data), e.mode.Perm()))
		require.NoError(t, os.Chmod(path, e.mode.Perm()))
	}
	require.Empty(t, treeDiff(before, tree(t, dir)), "could not restore the test directory")
}

// TestHostileCaseCount keeps the figure in the report honest.
func TestHostileCaseCount(t *testing.T) {
	names := map[string]bool{}
	for _, c := range hostileCases() {
		require.False(t, names[c.name], "duplicate case %s", c.name)
		names[c.name] = true
		require.NotEmpty(t, c.want, c.name)
	}
	assert.GreaterOrEqual(t, len(names), 90)
}
