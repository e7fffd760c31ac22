package gen

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const blockLayers = `"layers": [
 {"name": "dw", "cin": 16, "cout": 16, "k": 3, "groups": 16, "pad": 1, "act": "relu6"},
 {"name": "pw", "cin": 16, "cout": 24, "k": 1, "bias": true},
 {"name": "pw8", "cin": 8, "cout": 24, "k": 1},
 {"name": "c3", "cin": 16, "cout": 16, "k": 3, "pad": 1}]`

func TestBlocks(t *testing.T) {
	s, err := ParseSpec("b.json", []byte(`{`+blockLayers+`, "blocks": [{"name": "sep", "depthwise": "dw", "pointwise": "pw"}]}`))
	require.NoError(t, err)
	assert.Equal(t, []Block{{Name: "sep", Index: 1, Depthwise: "dw", Pointwise: "pw"}}, s.Blocks)

	for _, c := range []struct{ blocks, want string }{
		{`[{"name": "b", "depthwise": "nope", "pointwise": "pw"}]`, `b.json: block 1 "b": depthwise "nope": no such layer`},
		{`[{"name": "b", "depthwise": "c3", "pointwise": "pw"}]`, `b.json: block 1 "b": depthwise "c3": not a depthwise layer (groups=1, cin=16; want groups == cin)`},
		{`[{"name": "b", "depthwise": "dw", "pointwise": "c3"}]`, `b.json: block 1 "b": pointwise "c3": must be a 1x1 convolution with stride 1 and no padding`},
		{`[{"name": "b", "depthwise": "dw", "pointwise": "pw8"}]`, `b.json: block 1 "b": pointwise "pw8" has cin=8, want the depthwise layer's cout=16`},
		{`[{"name": "dw", "depthwise": "dw", "pointwise": "pw"}]`, `b.json: block 1 "dw": Go name Dw is also made by layer 1 "dw"`},
		{`[{"name": "b", "depthwise": "dw", "pointwise": "pw", "x": 1}]`, `b.json: block 1 "b": unknown field "x"`},
		{`[{"name": "b", "pointwise": "pw"}]`, `b.json: block 1 "b": depthwise is required (the name of a depthwise layer)`},
		{`{}`, `b.json: blocks: want an array`},
	} {
		_, err := ParseSpec("b.json", []byte(`{`+blockLayers+`, "blocks": `+c.blocks+`}`))
		assert.ErrorContains(t, err, c.want, c.blocks)
	}
}

func TestGeneratedNameClashes(t *testing.T) {
	for _, c := range []struct{ layers, want string }{
		{`{"name": "example", "cin": 8, "cout": 8, "k": 1}`, `layer 1 "example": Go type name Example is also a name the generated package declares`},
		{`{"name": "a", "cin": 8, "cout": 8, "k": 1}, {"name": "testA", "cin": 8, "cout": 8, "k": 1}`, `clashes with the Go names of`},
		{`{"name": "a", "cin": 8, "cout": 8, "k": 1}, {"name": "aConcurrent", "cin": 8, "cout": 8, "k": 1}`, `its test TestAConcurrent clashes`},
		{`{"name": "dispatch", "cin": 8, "cout": 8, "k": 1}`, `its test TestDispatch clashes with the Go names of the generated package`},
	} {
		_, err := ParseSpec("n.json", []byte(`{"layers": [`+c.layers+`]}`))
		assert.ErrorContains(t, err, c.want, c.layers)
	}
	_, err := ParseSpec("n.json", []byte(`{"layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}, {"name": "b", "cin": 8, "cout": 8, "k": 1}]}`))
	assert.NoError(t, err)
}
