package gen

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var specInf = float32(math.Inf(1))

// specOneLayer wraps the JSON members of one layer into a spec.
func specOneLayer(members string) []byte {
	return []byte(`{"layers": [{` + members + `}]}`)
}

// specBase is the layer every field test starts from: name "a", cin=cout=8, k=3
// and all defaults, as parsed from source.
func specBase(source string) Layer {
	return Layer{
		Name: "a", Index: 1, Source: source,
		Cin: 8, Cout: 8, KH: 3, KW: 3,
		Groups:  1,
		StrideH: 1, StrideW: 1,
		DilationH: 1, DilationW: 1,
		Act: Activation{Kind: ActNone, Min: -specInf, Max: specInf},
	}
}

// specFieldCases lists every field in every form, as a JSON member, the
// equivalent inline item, and the change from specBase.
var specFieldCases = []struct {
	name   string
	json   string // extra JSON members
	inline string // extra inline items
	want   func(l *Layer)
}{
	{"defaults", ``, ``, func(l *Layer) {}},
	{"k int", `"k": 5`, `k=5`, func(l *Layer) { l.KH, l.KW = 5, 5 }},
	{"k pair", `"k": [3, 5]`, `k=3x5`, func(l *Layer) { l.KH, l.KW = 3, 5 }},
	{"k 1x1", `"k": 1`, `k=1`, func(l *Layer) { l.KH, l.KW = 1, 1 }},
	{"stride int", `"stride": 2`, `stride=2`, func(l *Layer) { l.StrideH, l.StrideW = 2, 2 }},
	{"stride pair", `"stride": [2, 1]`, `stride=2x1`, func(l *Layer) { l.StrideH, l.StrideW = 2, 1 }},
	{"dilation int", `"dilation": 2`, `dilation=2`, func(l *Layer) { l.DilationH, l.DilationW = 2, 2 }},
	{"dilation pair", `"dilation": [1, 2]`, `dilation=1x2`, func(l *Layer) { l.DilationH, l.DilationW = 1, 2 }},
	{"pad int", `"pad": 1`, `pad=1`, func(l *Layer) { l.Pad = Padding{Top: 1, Left: 1, Bottom: 1, Right: 1} }},
	{"pad pair", `"pad": [1, 2]`, `pad=1x2`, func(l *Layer) { l.Pad = Padding{Top: 1, Left: 2, Bottom: 1, Right: 2} }},
	{"pad four", `"pad": [1, 2, 0, 1]`, `pad=1x2x0x1`, func(l *Layer) { l.Pad = Padding{Top: 1, Left: 2, Bottom: 0, Right: 1} }},
	{"pad same", `"pad": "same"`, `pad=same`, func(l *Layer) { l.Pad = Padding{Same: true} }},
	{"pad valid", `"pad": "valid"`, `pad=valid`, func(l *Layer) {}},
	{"pad span-1 with dilation", `"pad": 4, "dilation": 2`, `pad=4,dilation=2`, func(l *Layer) {
		l.Pad = Padding{Top: 4, Left: 4, Bottom: 4, Right: 4}
		l.DilationH, l.DilationW = 2, 2
	}},
	{"bias true", `"bias": true`, `bias=true`, func(l *Layer) { l.Bias = true }},
	{"bias false", `"bias": false`, `bias=false`, func(l *Layer) {}},
	{"groups", `"groups": 4`, `groups=4`, func(l *Layer) { l.Groups = 4 }},
	{"act none", `"act": "none"`, `act=none`, func(l *Layer) {}},
	{"act relu", `"act": "relu"`, `act=relu`, func(l *Layer) { l.Act = Activation{Kind: ActReLU, Min: 0, Max: specInf} }},
	{"act relu6", `"act": "relu6"`, `act=relu6`, func(l *Layer) { l.Act = Activation{Kind: ActReLU6, Min: 0, Max: 6} }},
	{"act clamp", `"act": {"min": -1, "max": 1.5}`, `act=-1:1.5`, func(l *Layer) { l.Act = Activation{Kind: ActClamp, Min: -1, Max: 1.5} }},
	{"act clamp min only", `"act": {"min": 0}`, `act=0:`, func(l *Layer) { l.Act = Activation{Kind: ActClamp, Min: 0, Max: specInf} }},
	{"act clamp max only", `"act": {"max": 6}`, `act=:6`, func(l *Layer) { l.Act = Activation{Kind: ActClamp, Min: -specInf, Max: 6} }},
	{"act clamp equal", `"act": {"min": 2, "max": 2}`, `act=2:2`, func(l *Layer) { l.Act = Activation{Kind: ActClamp, Min: 2, Max: 2} }},
	{"layout nchw", `"layout": "nchw"`, `layout=nchw`, func(l *Layer) { l.NCHW = true }},
	{"layout nhwc", `"layout": "nhwc"`, `layout=nhwc`, func(l *Layer) {}},
	{"everything", `"k": [3, 1], "groups": 8, "stride": [2, 1], "pad": [1, 0, 2, 0], "dilation": [2, 1], "bias": true, "act": "relu6", "layout": "nchw"`,
		`k=3x1,groups=8,stride=2x1,pad=1x0x2x0,dilation=2x1,bias=true,act=relu6,layout=nchw`,
		func(l *Layer) {
			l.NCHW = true
			l.KH, l.KW, l.Groups = 3, 1, 8
			l.StrideH, l.StrideW = 2, 1
			l.Pad = Padding{Top: 1, Left: 0, Bottom: 2, Right: 0}
			l.DilationH, l.DilationW = 2, 1
			l.Bias = true
			l.Act = Activation{Kind: ActReLU6, Min: 0, Max: 6}
		}},
}

func TestParseSpecFields(t *testing.T) {
	for _, tc := range specFieldCases {
		t.Run(tc.name, func(t *testing.T) {
			members := `"name": "a", "cin": 8, "cout": 8, "k": 3`
			if tc.json != "" {
				// A later "k" replaces the base one, so drop it first.
				if strings.Contains(tc.json, `"k"`) {
					members = `"name": "a", "cin": 8, "cout": 8`
				}
				members += ", " + tc.json
			}
			s, err := ParseSpec("layers.json", specOneLayer(members))
			require.NoError(t, err)
			want := specBase("layers.json")
			tc.want(&want)
			require.Len(t, s.Layers, 1)
			assert.Equal(t, want, s.Layers[0])
			assert.Equal(t, "layers.json", s.Source)
			assert.Equal(t, "", s.Package)
		})
	}
}

func TestInlineLayerFields(t *testing.T) {
	for _, tc := range specFieldCases {
		t.Run(tc.name, func(t *testing.T) {
			arg := "a:cin=8,cout=8"
			if !strings.HasPrefix(tc.inline, "k=") {
				arg += ",k=3" // every case that sets k starts with it
			}
			if tc.inline != "" {
				arg += "," + tc.inline
			}
			l, err := ParseInlineLayer(arg, 1)
			require.NoError(t, err, arg)
			want := specBase("-layer")
			tc.want(&want)
			assert.Equal(t, want, l, arg)
		})
	}
}

func TestParseSpecPackageAndLayers(t *testing.T) {
	s, err := ParseSpec("layers.json", []byte(`{
		"package": "kernels",
		"layers": [
			{"name": "dw1", "cin": 32, "cout": 32, "k": 3, "groups": 32,
			 "stride": 1, "pad": 1, "dilation": 1, "bias": true, "act": "relu6"},
			{"name": "pw1", "cin": 32, "cout": 64, "k": 1}
		]}`))
	require.NoError(t, err)
	assert.Equal(t, "kernels", s.Package)
	require.Len(t, s.Layers, 2)
	assert.Equal(t, "dw1", s.Layers[0].Name)
	assert.Equal(t, 1, s.Layers[0].Index)
	assert.True(t, s.Layers[0].Depthwise())
	assert.Equal(t, "Dw1", s.Layers[0].TypeName())
	assert.Equal(t, "pw1", s.Layers[1].Name)
	assert.Equal(t, 2, s.Layers[1].Index)
	assert.Equal(t, "layers.json", s.Layers[1].Source)
	assert.False(t, s.Layers[1].Depthwise())
	assert.NoError(t, s.Validate())
}

func TestSpecSpanAndDepthwise(t *testing.T) {
	l := Layer{KH: 3, KW: 5, DilationH: 2, DilationW: 1, Cin: 8, Groups: 8, Cout: 16}
	assert.Equal(t, 5, l.SpanH())
	assert.Equal(t, 5, l.SpanW())
	assert.True(t, l.Depthwise(), "channel multiplier 2 is still depthwise")
	l.Groups = 4
	assert.False(t, l.Depthwise())
}

func TestSpecActivationString(t *testing.T) {
	assert.Equal(t, "none", NewActivation(ActNone).String())
	assert.Equal(t, "relu", NewActivation(ActReLU).String())
	assert.Equal(t, "relu6", NewActivation(ActReLU6).String())
	assert.Equal(t, "clamp(-1,1.5)", NewClamp(-1, 1.5).String())
	assert.Equal(t, "clamp(0,+Inf)", NewClamp(0, specInf).String())
	assert.Equal(t, "ActKind(9)", Activation{Kind: 9}.String())
}

// Full messages: these are the contract users rely on.
func TestParseSpecErrorsExact(t *testing.T) {
	tests := []struct {
		name, spec, want string
	}{
		{"groups divide", `{"layers": [{"name": "c0", "cin": 32, "cout": 32, "k": 3},
			{"name": "dw1", "cin": 32, "cout": 32, "k": 3, "groups": 3}]}`,
			`layers.json: layer 2 "dw1": groups=3 does not divide cin=32` + "\n" +
				`layers.json: layer 2 "dw1": groups=3 does not divide cout=32`},
		{"kernel size", `{"layers": [{"name": "c1", "cin": 8, "cout": 8, "k": [3, 13]}]}`,
			`layers.json: layer 1 "c1": k=[3,13]: kernel size must be between 1 and 11`},
		{"unknown layer field", `{"layers": [{"name": "x", "cin": 8, "cout": 8, "k": 3, "strides": 2}]}`,
			`layers.json: layer 1 "x": unknown field "strides"`},
		{"no name", `{"layers": [{"cin": 8, "cout": 8, "k": 3}]}`,
			`layers.json: layer 1: name is required`},
		{"duplicate name", `{"layers": [{"name": "b", "cin": 8, "cout": 8, "k": 3}, {"name": "b", "cin": 8, "cout": 8, "k": 3}]}`,
			`layers.json: layer 2 "b": name "b" is used again (also layer 1)`},
		{"package", `{"package": "Foo", "layers": [{"name": "b", "cin": 8, "cout": 8, "k": 3}]}`,
			`layers.json: package "Foo": must be a lower-case Go identifier (only a-z, 0-9 and _, not starting with a digit)`},
		{"type error", `{"layers": [{"name": "c1", "cin": 8, "cout": 8, "k": 3, "stride": "2"}]}`,
			`layers.json: layer 1 "c1": stride: want an int or [h, w], got "2"`},
		{"top unknown", `{"layer": []}`,
			`layers.json: unknown field "layer"` + "\n" + `layers.json: no layers`},
		{"empty file", " \n", `layers.json: no layers`},
		{"empty layers", `{"layers": []}`, `layers.json: no layers`},
		{"syntax", "{\n  \"layers\": [\n    {\"name\": \"a\",}\n  ]\n}",
			`layers.json: invalid JSON at line 3, column 18: invalid character '}' looking for beginning of object key string`},
		{"trailing data", "{\"layers\": []}\nx",
			`layers.json: invalid JSON at line 2, column 1: invalid character 'x' after top-level value`},
		{"truncated", "{\"layers\": [\n",
			`layers.json: invalid JSON at line 2, column 1: unexpected end of JSON input`},
		{"float", `{"layers": [{"name": "c1", "cin": 3.5, "cout": 8, "k": 3}]}`,
			`layers.json: layer 1 "c1": cin: want an integer, got 3.5`},
		{"null", `{"layers": [{"name": "c1", "cin": null, "cout": 8, "k": 3}]}`,
			`layers.json: layer 1 "c1": cin: want an integer, got null`},
		{"pad over span", `{"layers": [{"name": "c1", "cin": 8, "cout": 8, "k": 3, "pad": [1, 3]}]}`,
			`layers.json: layer 1 "c1": pad=[1,3]: left pad 3 must be less than the kernel's width span 3 ((k-1)*dilation+1)`},
		{"weights", `{"layers": [{"name": "c1", "cin": 2048, "cout": 8, "k": 3}]}`,
			`layers.json: layer 1 "c1": (cin/groups)*kh*kw = 2048*3*3 = 18432: weights per output channel must be at most 16384`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSpec("layers.json", []byte(tc.spec))
			assert.Nil(t, s)
			assert.EqualError(t, err, tc.want)
		})
	}
}

// Each rule, checked by a substring of its message.
func TestParseSpecRules(t *testing.T) {
	const base = `"name": "c1", "cin": 8, "cout": 8`
	tests := []struct {
		name, members, want string
	}{
		{"cin zero", `"name": "c1", "cin": 0, "cout": 8, "k": 3`, `layer 1 "c1": cin=0: channel count must be between 1 and 4096`},
		{"cin negative", `"name": "c1", "cin": -4, "cout": 8, "k": 3`, `cin=-4: channel count must be between 1 and 4096`},
		{"cout too big", `"name": "c1", "cin": 8, "cout": 4097, "k": 1`, `cout=4097: channel count must be between 1 and 4096`},
		{"cin huge", `"name": "c1", "cin": 99999999999999999999, "cout": 8, "k": 3`, `cin: 99999999999999999999 is out of range`},
		{"cin missing", `"name": "c1", "cout": 8, "k": 3`, `layer 1 "c1": cin is required`},
		{"cout missing", `"name": "c1", "cin": 8, "k": 3`, `cout is required`},
		{"k missing", base, `k is required`},
		{"k zero", base + `, "k": 0`, `k=0: kernel size must be between 1 and 11`},
		{"k too big", base + `, "k": 12`, `k=12: kernel size must be between 1 and 11`},
		{"k triple", base + `, "k": [3, 3, 3]`, `k: want an int or [kh, kw], got [3,3,3]`},
		{"k float", base + `, "k": 3.0`, `k: want an int or [kh, kw], got 3.0`},
		{"k float in pair", base + `, "k": [3, 2.5]`, `k: want an int or [kh, kw], got [3,2.5]`},
		{"k string", base + `, "k": "3"`, `k: want an int or [kh, kw], got "3"`},
		{"k null", base + `, "k": null`, `k: want an int or [kh, kw], got null`},
		{"groups zero", base + `, "k": 3, "groups": 0`, `groups=0: groups must be at least 1`},
		{"groups negative", base + `, "k": 3, "groups": -2`, `groups=-2: groups must be at least 1`},
		{"groups cout", `"name": "c1", "cin": 8, "cout": 12, "k": 3, "groups": 8`, `groups=8 does not divide cout=12`},
		{"stride zero", base + `, "k": 3, "stride": 0`, `stride=0: stride must be between 1 and 8`},
		{"stride big", base + `, "k": 3, "stride": [1, 9]`, `stride=[1,9]: stride must be between 1 and 8`},
		{"dilation zero", base + `, "k": 3, "dilation": [0, 1]`, `dilation=[0,1]: dilation must be between 1 and 8`},
		{"dilation big", base + `, "k": 3, "dilation": 9`, `dilation=9: dilation must be between 1 and 8`},
		{"pad negative", base + `, "k": 3, "pad": -1`, `pad=-1: padding must not be negative`},
		{"pad four negative", base + `, "k": 3, "pad": [0, 0, -1, 0]`, `pad=[0,0,-1,0]: padding must not be negative`},
		{"pad equals span", base + `, "k": 3, "pad": 3`, `pad=3: top pad 3 must be less than the kernel's height span 3`},
		{"pad span with dilation", base + `, "k": 3, "dilation": [2, 1], "pad": [5, 0]`, `top pad 5 must be less than the kernel's height span 5`},
		{"pad bottom", base + `, "k": [3, 5], "pad": [0, 0, 3, 0]`, `bottom pad 3 must be less than the kernel's height span 3`},
		{"pad 1x1 kernel", base + `, "k": 1, "pad": 1`, `top pad 1 must be less than the kernel's height span 1`},
		{"pad bad string", base + `, "k": 3, "pad": "full"`, `pad: want an int, [ph, pw], [top, left, bottom, right], "same" or "valid", got "full"`},
		{"pad three", base + `, "k": 3, "pad": [1, 1, 1]`, `pad: want an int, [ph, pw]`},
		{"bias string", base + `, "k": 3, "bias": "yes"`, `bias: want true or false, got "yes"`},
		{"bias null", base + `, "k": 3, "bias": null`, `bias: want true or false, got null`},
		{"act unknown", base + `, "k": 3, "act": "gelu"`, `act: want "none", "relu", "relu6" or {"min": a, "max": b}, got "gelu"`},
		{"act case", base + `, "k": 3, "act": "ReLU"`, `act: want "none"`},
		{"act min above max", base + `, "k": 3, "act": {"min": 2, "max": 1}`, `act=clamp(2,1): min 2 must not be greater than max 1`},
		{"act unknown key", base + `, "k": 3, "act": {"lo": 2}`, `act: unknown field "lo" (want "min" and/or "max")`},
		{"act string bound", base + `, "k": 3, "act": {"min": "0"}`, `act: min: want a number, got "0"`},
		{"act not finite", base + `, "k": 3, "act": {"max": 1e39}`, `act: max=1e39: must be a finite float32`},
		{"act huge", base + `, "k": 3, "act": {"max": 1e400}`, `act: max=1e400: must be a finite float32`},
		{"duplicate field", base + `, "k": 3, "cin": 4`, `layer 1 "c1": duplicate field "cin"`},
		{"name not string", `"name": 1, "cin": 8, "cout": 8, "k": 3`, `layer 1: name: want a string, got 1`},
		{"name empty", `"name": "", "cin": 8, "cout": 8, "k": 3`, `layer 1: name is required`},
		{"name digit", `"name": "1x", "cin": 8, "cout": 8, "k": 3`, `layer 1 "1x": name "1x": must start with an ASCII letter and contain only letters, digits and underscores`},
		{"name dash", `"name": "conv-1", "cin": 8, "cout": 8, "k": 3`, `name "conv-1": must start with an ASCII letter`},
		{"name too long", `"name": "` + strings.Repeat("a", 65) + `", "cin": 8, "cout": 8, "k": 3`, `is 65 characters long, at most 64 are allowed`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec("layers.json", specOneLayer(tc.members))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "layers.json: layer 1"), err.Error())
		})
	}
}

func TestParseSpecTopLevel(t *testing.T) {
	tests := []struct {
		name, spec, want string
	}{
		{"array", `[1, 2]`, `layers.json: want a JSON object with "layers", got [1,2]`},
		{"null", `null`, `layers.json: want a JSON object with "layers", got null`},
		{"layers object", `{"layers": {"a": 1}}`, `layers.json: layers: want an array of layers, got {"a":1}`},
		{"layers null", `{"layers": null}`, `layers.json: layers: want an array of layers, got null`},
		{"package number", `{"package": 5, "layers": [{"name": "a", "cin": 1, "cout": 1, "k": 1}]}`,
			`layers.json: package: want a string, got 5`},
		{"package keyword", `{"package": "func", "layers": [{"name": "a", "cin": 1, "cout": 1, "k": 1}]}`,
			`layers.json: package "func": must not be a Go keyword`},
		{"layer not object", `{"layers": [3]}`, `layers.json: layer 1: want an object, got 3`},
		{"duplicate top field", `{"layers": [], "layers": []}`, `layers.json: duplicate field "layers"` + "\n" + `layers.json: no layers`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec("layers.json", []byte(tc.spec))
			assert.EqualError(t, err, tc.want)
		})
	}
}

func TestParseSpecTooManyLayers(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"layers": [`)
	for i := range 257 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"name": "l` + strconv.Itoa(i) + `", "cin": 1, "cout": 1, "k": 1}`)
	}
	b.WriteString(`]}`)
	_, err := ParseSpec("layers.json", []byte(b.String()))
	assert.EqualError(t, err, `layers.json: 257 layers: at most 256 are allowed`)
}

// All problems are reported, in spec order, and a field that failed does not
// cause follow-on errors.
func TestParseSpecMultipleErrors(t *testing.T) {
	spec := `{
	"package": "main",
	"extra": 1,
	"layers": [
		{"name": "a", "cin": 0, "cout": 8, "k": 3, "groups": 4},
		{"name": "b", "cin": 8, "cout": 8, "k": [3, 20], "pad": 9, "bogus": true},
		{"cin": 8, "cout": 8, "k": 3},
		{"name": "a", "cin": 8, "cout": 8, "k": 3, "stride": "x", "act": "tanh"}
	]}`
	_, err := ParseSpec("layers.json", []byte(spec))
	require.Error(t, err)
	want := []string{
		`layers.json: unknown field "extra"`,
		`layers.json: package "main": generated kernels are a library, the package cannot be "main"`,
		`layers.json: layer 1 "a": cin=0: channel count must be between 1 and 4096`,
		`layers.json: layer 2 "b": unknown field "bogus"`,
		`layers.json: layer 2 "b": k=[3,20]: kernel size must be between 1 and 11`,
		`layers.json: layer 3: name is required`,
		`layers.json: layer 4 "a": stride: want an int or [h, w], got "x"`,
		`layers.json: layer 4 "a": act: want "none", "relu", "relu6" or {"min": a, "max": b}, got "tanh"`,
		`layers.json: layer 4 "a": name "a" is used again (also layer 1)`,
	}
	assert.Equal(t, want, strings.Split(err.Error(), "\n"))
}

func TestValidateBuiltSpec(t *testing.T) {
	l := Layer{
		Name: "c1", Cin: 8, Cout: 8, KH: 3, KW: 3, Groups: 1,
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1,
		Act: NewActivation(ActReLU),
	}
	s := &Spec{Source: "built", Package: "kernels", Layers: []Layer{l}}
	require.NoError(t, s.Validate())
	require.NoError(t, l.Validate())

	// Index and Source fall back to the position and the spec's source.
	bad := l
	bad.Name = "c2"
	bad.Act = Activation{Kind: ActReLU} // forgot Min/Max
	bad.Pad = Padding{Top: 1, Same: true}
	s.Layers = append(s.Layers, bad)
	err := s.Validate()
	require.Error(t, err)
	assert.Equal(t, []string{
		`built: layer 2 "c2": pad: "same" padding cannot also have explicit pads (1,0,0,0)`,
		`built: layer 2 "c2": act=relu: min,max must be 0,+Inf for relu, got 0,0 (build it with NewActivation)`,
	}, strings.Split(err.Error(), "\n"))

	for _, a := range []Activation{
		{Kind: ActClamp, Min: float32(math.NaN()), Max: 1},
		{Kind: 7},
	} {
		l2 := l
		l2.Act = a
		assert.Error(t, l2.Validate(), a.String())
	}

	assert.EqualError(t, (&Spec{Source: "x.json"}).Validate(), "x.json: no layers")
}

func TestValidateRejectsZeroLayer(t *testing.T) {
	err := (&Spec{Layers: []Layer{{Name: "z"}}}).Validate()
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`layer 1 "z": cin=0: channel count must be between 1 and 4096`,
		`layer 1 "z": cout=0: channel count must be between 1 and 4096`,
		`layer 1 "z": k=0: kernel size must be between 1 and 11`,
		`layer 1 "z": groups=0: groups must be at least 1`,
		`layer 1 "z": stride=0: stride must be between 1 and 8`,
		`layer 1 "z": dilation=0: dilation must be between 1 and 8`,
		`layer 1 "z": act=none: min,max must be -Inf,+Inf for none, got 0,0`,
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "pad", "pad depends on k and dilation, which are reported")
	assert.NotContains(t, msg, "divide", "groups is reported")
}

func TestInlineLayerErrors(t *testing.T) {
	tests := []struct {
		name, arg string
		index     int
		want      string
	}{
		{"unknown key", "dw1:cin=8,cout=8,k=3,strid=2", 2, `-layer 2: layer "dw1": unknown key "strid"`},
		{"no colon", "dw1", 1, `-layer 1: missing ":" after the layer name (want name:cin=N,cout=N,k=N,...)`},
		{"no name", ":cin=8,cout=8,k=3", 3, `-layer 3: name is required`},
		{"bad name", "1a:cin=8,cout=8,k=3", 1, `-layer 1: layer "1a": name "1a": must start with an ASCII letter and contain only letters, digits and underscores`},
		{"missing keys", "a:", 1, "-layer 1: layer \"a\": cin is required\n-layer 1: layer \"a\": cout is required\n-layer 1: layer \"a\": k is required"},
		{"no equals", "a:cin=8,cout=8,k=3,bias", 1, `-layer 1: layer "a": "bias": want key=value`},
		{"stray comma", "a:cin=8,cout=8,k=3,", 1, `-layer 1: layer "a": empty item in the key=value list (stray comma?)`},
		{"twice", "a:cin=8,cout=8,k=3,k=5", 1, `-layer 1: layer "a": key "k" is given twice`},
		{"name key", "a:name=b,cin=8,cout=8,k=3", 1, `-layer 1: layer "a": unknown key "name"`},
		{"bad int", "a:cin=eight,cout=8,k=3", 1, `-layer 1: layer "a": cin: want an integer, got "eight"`},
		{"bad pair", "a:cin=8,cout=8,k=3x", 1, `-layer 1: layer "a": k: want an int or KHxKW, got "3x"`},
		{"bad stride", "a:cin=8,cout=8,k=3,stride=1x2x3", 1, `-layer 1: layer "a": stride: want an int or HxW, got "1x2x3"`},
		{"bad pad", "a:cin=8,cout=8,k=3,pad=1x2x3", 1, `-layer 1: layer "a": pad: want an int, PHxPW, TOPxLEFTxBOTTOMxRIGHT, same or valid, got "1x2x3"`},
		{"bad bias", "a:cin=8,cout=8,k=3,bias=1", 1, `-layer 1: layer "a": bias: want true or false, got "1"`},
		{"bad act", "a:cin=8,cout=8,k=3,act=tanh", 1, `-layer 1: layer "a": act: want none, relu, relu6 or min:max (e.g. -1:1 or 0:), got "tanh"`},
		{"bad clamp", "a:cin=8,cout=8,k=3,act=x:1", 1, `-layer 1: layer "a": act: min: want a number, got "x"`},
		{"inf clamp", "a:cin=8,cout=8,k=3,act=0:inf", 1, `-layer 1: layer "a": act: max=inf: must be a finite float32 number`},
		{"nan clamp", "a:cin=8,cout=8,k=3,act=NaN:1", 1, `-layer 1: layer "a": act: min=NaN: must be a finite float32 number`},
		{"clamp order", "a:cin=8,cout=8,k=3,act=1:-1", 1, `-layer 1: layer "a": act=clamp(1,-1): min 1 must not be greater than max -1`},
		{"kernel size", "a:cin=8,cout=8,k=3x13", 1, `-layer 1: layer "a": k=3x13: kernel size must be between 1 and 11`},
		{"groups", "dw1:cin=32,cout=32,k=3,groups=3", 1, `-layer 1: layer "dw1": groups=3 does not divide cin=32` + "\n" +
			`-layer 1: layer "dw1": groups=3 does not divide cout=32`},
		{"pad span", "a:cin=8,cout=8,k=3,pad=1x3x1x1", 1, `-layer 1: layer "a": pad=1x3x1x1: left pad 3 must be less than the kernel's width span 3 ((k-1)*dilation+1)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseInlineLayer(tc.arg, tc.index)
			require.Error(t, err)
			assert.Equal(t, Layer{}, l)
			assert.EqualError(t, err, tc.want)
		})
	}
}

func TestInlineLayerFullForm(t *testing.T) {
	l, err := ParseInlineLayer("dw1:cin=32,cout=32,k=3,groups=32,stride=2,pad=1,dilation=1,bias=true,act=relu6", 4)
	require.NoError(t, err)
	assert.Equal(t, Layer{
		Name: "dw1", Index: 4, Source: "-layer",
		Cin: 32, Cout: 32, KH: 3, KW: 3, Groups: 32,
		StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1,
		Pad:  Padding{Top: 1, Left: 1, Bottom: 1, Right: 1},
		Bias: true,
		Act:  Activation{Kind: ActReLU6, Min: 0, Max: 6},
	}, l)

	// Inline layers combine into a spec whose cross-layer errors name the flags.
	l2, err := ParseInlineLayer("Dw1:cin=8,cout=8,k=1", 5)
	require.NoError(t, err)
	err = (&Spec{Source: "-layer", Layers: []Layer{l, l2}}).Validate()
	assert.EqualError(t, err, `-layer 5: layer "Dw1": Go type name Dw1 is also the type of -layer 4 "dw1"`)
}

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(`{"package": "kernels", "layers": [{"name": "dw1", "cin": 32, "cout": 32, "k": 3, "groups": 32, "stride": 1, "pad": 1, "dilation": 1, "bias": true, "act": "relu6"}]}`))
	f.Add([]byte(`{"layers": [{"name": "c", "cin": 3, "cout": 16, "k": [3, 5], "stride": [2, 1], "pad": [1, 2, 1, 2], "dilation": [1, 2], "act": {"min": -1}}]}`))
	f.Add([]byte(`{"layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1, "pad": "same"}, {"name": "A", "cin": 8, "cout": 8, "k": 1}]}`))
	f.Add([]byte(`{"layers": [{"name": "n", "cin": 8, "cout": 8, "k": 3, "layout": "nchw"}, {"name": "h", "cin": 8, "cout": 8, "k": 1, "layout": 3}]}`))
	f.Add([]byte(`{"layers": [{"name": "a", "cin": 8.5, "cout": null, "k": [3], "act": {"max": 1e39}}], "x": 1}`))
	f.Add([]byte(`{"layers": [3, "x", null, {}]}`))
	f.Add([]byte("{\n\"layers\": [\n"))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec("f.json", data)
		if err != nil {
			require.Nil(t, s)
			for _, line := range strings.Split(err.Error(), "\n") {
				require.True(t, strings.HasPrefix(line, "f.json: "), "error line without source: %q", line)
			}
			return
		}
		require.NotEmpty(t, s.Layers)
		require.NoError(t, s.Validate(), "an accepted spec must re-validate clean")
	})
}

func FuzzParseInlineLayer(f *testing.F) {
	f.Add("dw1:cin=32,cout=32,k=3,groups=32,stride=2,pad=1,dilation=1,bias=true,act=relu6")
	f.Add("c:cin=3,cout=8,k=3x5,pad=1x2x1x2,act=-1:")
	f.Add("c:cin=3,cout=8,k=3,pad=same,act=:6")
	f.Add("n:cin=8,cout=8,k=3,groups=2,layout=nchw")
	f.Add("x")
	f.Fuzz(func(t *testing.T, arg string) {
		l, err := ParseInlineLayer(arg, 1)
		if err != nil {
			require.Equal(t, Layer{}, l)
			return
		}
		require.NoError(t, l.Validate())
		require.NoError(t, (&Spec{Source: "-layer", Layers: []Layer{l}}).Validate())
	})
}

func TestShuffleField(t *testing.T) {
	s, err := ParseSpec("s.json", []byte(`{"layers": [{"name": "g", "cin": 12, "cout": 12, "k": 1, "groups": 3, "shuffle": 3}]}`))
	require.NoError(t, err)
	assert.Equal(t, 3, s.Layers[0].Shuffle)
	l, err := ParseInlineLayer("g:cin=12,cout=12,k=1,groups=3,shuffle=4", 1)
	require.NoError(t, err)
	assert.Equal(t, 4, l.Shuffle)
	_, err = ParseSpec("s.json", []byte(`{"layers": [{"name": "g", "cin": 12, "cout": 12, "k": 1, "shuffle": 5}]}`))
	assert.EqualError(t, err, `s.json: layer 1 "g": shuffle=5 does not divide cout=12`)
	_, err = ParseSpec("s.json", []byte(`{"layers": [{"name": "g", "cin": 12, "cout": 12, "k": 1, "shuffle": -2}]}`))
	assert.ErrorContains(t, err, "shuffle=-2: the number of shuffle groups must be at least 1")
}
