package gen

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNameTypeName(t *testing.T) {
	for name, want := range map[string]string{
		"dw1":     "Dw1",
		"conv2_1": "Conv2_1",
		"Dw1":     "Dw1",
		"x":       "X",
		"newDw1":  "NewDw1",
		"aB_c":    "AB_c",
	} {
		assert.Equal(t, want, Layer{Name: name}.TypeName(), name)
	}
}

func TestValidPackageName(t *testing.T) {
	for _, name := range []string{"kernels", "k2", "conv_kernels", "_x", "x_"} {
		assert.NoError(t, ValidPackageName(name), name)
	}
	tests := map[string]string{
		"Foo":     `package "Foo": must be a lower-case Go identifier (only a-z, 0-9 and _, not starting with a digit)`,
		"":        `package "": must be a lower-case Go identifier`,
		"2k":      `package "2k": must be a lower-case Go identifier`,
		"my-pkg":  `package "my-pkg": must be a lower-case Go identifier`,
		"kernelé": `package "kernelé": must be a lower-case Go identifier`,
		"func":    `package "func": must not be a Go keyword`,
		"type":    `package "type": must not be a Go keyword`,
		"main":    `package "main": generated kernels are a library, the package cannot be "main"`,
		"_":       `package "_": the blank identifier cannot name a package`,
	}
	for name, want := range tests {
		err := ValidPackageName(name)
		require.Error(t, err, name)
		assert.True(t, strings.HasPrefix(err.Error(), want), "%q: got %q", name, err)
	}
}

func TestNameClashes(t *testing.T) {
	layer := func(name string) string {
		return `{"name": "` + name + `", "cin": 4, "cout": 4, "k": 1}`
	}
	tests := []struct {
		names []string
		want  string // "" means no error
	}{
		{[]string{"dw1", "pw1", "conv2_1"}, ""},
		{[]string{"dw1", "Dw1"}, `layers.json: layer 2 "Dw1": Go type name Dw1 is also the type of layer 1 "dw1"`},
		{[]string{"dw1", "newDw1"}, `layers.json: layer 2 "newDw1": Go type name NewDw1 clashes with the constructor of layer 1 "dw1"`},
		{[]string{"NewDw1", "x", "dw1"}, `layers.json: layer 3 "dw1": constructor NewDw1 of Go type Dw1 clashes with the Go type of layer 1 "NewDw1"`},
		{[]string{"a", "b", "a"}, `layers.json: layer 3 "a": name "a" is used again (also layer 1)`},
		// Only New+type clashes: these differ in case after "New".
		{[]string{"dw1", "newdw1", "New", "new"}, `layers.json: layer 4 "new": Go type name New is also the type of layer 3 "New"`},
		// Every later repeat is reported against the first use.
		{[]string{"a", "A", "a"}, `layers.json: layer 2 "A": Go type name A is also the type of layer 1 "a"` + "\n" +
			`layers.json: layer 3 "a": name "a" is used again (also layer 1)`},
	}
	for _, tc := range tests {
		var items []string
		for _, n := range tc.names {
			items = append(items, layer(n))
		}
		_, err := ParseSpec("layers.json", []byte(`{"layers": [`+strings.Join(items, ",")+`]}`))
		if tc.want == "" {
			assert.NoError(t, err, tc.names)
		} else {
			assert.EqualError(t, err, tc.want, tc.names)
		}
	}
}

// Layers from different places name the other layer's place in clashes.
func TestNameClashAcrossSources(t *testing.T) {
	a := Layer{Name: "dw1", Index: 1, Source: "layers.json", Cin: 4, Cout: 4, KH: 1, KW: 1, Groups: 1,
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Act: NewActivation(ActNone)}
	b, err := ParseInlineLayer("dw1:cin=4,cout=4,k=1", 1)
	require.NoError(t, err)
	err = (&Spec{Layers: []Layer{a, b}}).Validate()
	assert.EqualError(t, err, `-layer 1: layer "dw1": name "dw1" is used again (also layers.json layer 1)`)
}
