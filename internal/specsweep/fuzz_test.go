package specsweep

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/convgen/convgen/gen"
)

// generateBudget bounds the specs the fuzz targets generate code for: at
// most this many layers, and Σ (cin/groups)·kh·kw over them (the unrolled
// kernel size) at most generateWeights. Bigger accepted specs are only
// planned: generating them takes seconds, too slow for a fuzz target (the
// presets and the sweep generate big layers).
const (
	generateLayers  = 4
	generateWeights = 2048
)

func cheapToGenerate(s *gen.Spec) bool {
	if len(s.Layers) > generateLayers {
		return false
	}
	w := 0
	for _, l := range s.Layers {
		w += l.Cin / l.Groups * l.KH * l.KW
		if l.Cin > 256 || l.Cout > 256 {
			return false
		}
	}
	return w <= generateWeights
}

// errorLineRE: every error line starts with its source and, for a layer,
// names it: "f.json: layer 2 "dw1": ..." or "-layer 1: ...".
var errorLineRE = regexp.MustCompile(`^(f\.json: |-layer \d+: )\S`)

// checkAccepted is what must hold for a spec ParseSpec or ParseInlineLayer
// accepted: it plans, and when cheap enough it generates a package with no
// identifier declared twice in any build and no AVX-512 in its AVX2 files.
func checkAccepted(t *testing.T, s *gen.Spec) {
	t.Helper()
	plan, err := gen.NewPlan(s)
	if err != nil {
		t.Fatalf("NewPlan rejected an accepted spec: %v", err)
	}
	if !cheapToGenerate(s) {
		return
	}
	files, err := gen.Generate(plan)
	if err != nil {
		t.Fatalf("Generate failed on an accepted spec: %v", err)
	}
	if p := DuplicateDecls(files); len(p) > 0 {
		t.Fatalf("the generated package does not compile:\n%s", strings.Join(p, "\n"))
	}
	for name, b := range files {
		if strings.HasSuffix(name, ".s") && !IsAVX512File(name) {
			if p := AVX512Problems(name, b); len(p) > 0 {
				t.Fatalf("AVX-512 in an AVX2 file:\n%s", strings.Join(p[:min(5, len(p))], "\n"))
			}
		}
	}
}

// FuzzSpecGenerates: whatever the bytes, ParseSpec does not panic; it
// either returns an error whose every line names the file (and the layer
// and field, where there is one), or a spec that plans and generates a
// package that would compile (see checkAccepted). Building and verifying
// the generated code is TestRandomSpecs' job: too slow per input.
func FuzzSpecGenerates(f *testing.F) {
	for _, seed := range []string{
		`{"package": "k", "layers": [{"name": "dw1", "cin": 32, "cout": 32, "k": 3, "groups": 32, "stride": 1, "pad": 1, "dilation": 1, "bias": true, "act": "relu6"}]}`,
		`{"package": "k", "layers": [{"name": "c", "cin": 3, "cout": 16, "k": [3, 5], "stride": [2, 1], "pad": [1, 2, 1, 2], "dilation": [1, 2], "act": {"min": -1}}]}`,
		`{"package": "k", "layers": [{"name": "p", "cin": 16, "cout": 16, "k": 3, "groups": 4, "pad": "same", "shuffle": 4, "input": [9, 9]}, {"name": "q", "cin": 16, "cout": 48, "k": 1, "groups": 16}]}`,
		`{"package": "k", "layers": [{"name": "example2", "cin": 8, "cout": 8, "k": 1}, {"name": "e", "cin": 8, "cout": 8, "k": 1}]}`,
		`{"package": "k", "layers": [{"name": "n", "cin": 8, "cout": 12, "k": 3, "groups": 4, "stride": 2, "pad": 1, "shuffle": 3, "layout": "nchw"}, {"name": "h", "cin": 12, "cout": 8, "k": 1, "layout": "nhwc"}]}`,
		`{"package": "k", "layers": [{"name": "n", "cin": 8, "cout": 8, "k": 1, "layout": "NCHW"}]}`,
		`{"package": "k", "layers": [{"name": "a", "cin": 8.5, "cout": null, "k": [3], "act": {"max": 1e39}}], "x": 1}`,
		`{"layers": [3, "x", null, {}]}`,
		"{\n\"layers\": [\n",
		``,
	} {
		f.Add([]byte(seed))
	}
	for _, pkg := range Random(1, 1, 4) { // one of each kind of random layer
		f.Add(pkg.JSON())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := gen.ParseSpec("f.json", data)
		if err != nil {
			if s != nil {
				t.Fatalf("ParseSpec returned a spec and an error")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !errorLineRE.MatchString(line) {
					t.Fatalf("error line without its source: %q", line)
				}
			}
			return
		}
		if s.Package == "" {
			s.Package = "k"
		}
		checkAccepted(t, s)
	})
}

// FuzzInlineGenerates is FuzzSpecGenerates for the -layer form.
func FuzzInlineGenerates(f *testing.F) {
	for _, seed := range []string{
		"dw1:cin=32,cout=32,k=3,groups=32,stride=2,pad=1,dilation=1,bias=true,act=relu6",
		"c:cin=3,cout=8,k=3x5,pad=1x2x1x2,act=-1:",
		"c:cin=8,cout=8,k=3,pad=same,act=:6,shuffle=2,input=7x9",
		"m:cin=4,cout=16,k=3,groups=4,dilation=2x1,stride=1x2",
		"p:cin=16,cout=16,k=3,groups=8,pad=valid",
		"n:cin=8,cout=12,k=3x2,groups=4,stride=1x2,pad=same,shuffle=4,layout=nchw",
		"n:cin=8,cout=8,k=1,layout=chw",
		"x",
		"x:cin=8,cout=8,k=3,stride=0",
	} {
		f.Add(seed)
	}
	for _, pkg := range Random(1, 1, 4) { // the same random layers as FuzzSpecGenerates, in the -layer form
		for _, arg := range pkg.Inline() {
			f.Add(arg)
		}
	}
	f.Fuzz(func(t *testing.T, arg string) {
		l, err := gen.ParseInlineLayer(arg, 1)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !errorLineRE.MatchString(line) {
					t.Fatalf("error line without its source: %q", line)
				}
			}
			return
		}
		checkAccepted(t, &gen.Spec{Source: "-layer", Package: "k", Layers: []gen.Layer{l}})
	})
}

// TestGeneratedNamesDoNotCollide: layer names that look like other
// identifiers of the generated package (its constructors, test functions,
// the driver's and the kernel table's names, the imports) must be either
// rejected by the spec validation or give a package that compiles.
func TestGeneratedNamesDoNotCollide(t *testing.T) {
	// Layer a's identifiers, then the package's own, the imports'.
	names := []string{
		"example", "testA", "fuzzA", "benchmarkA", "newA", "aConv", "aGeometry", "newAWith",
		"geometry", "rowKernel", "kernelImpl", "goKernels", "selectKernel", "numKernels",
		"verify", "cpu", "math", "fmt", "testing", "unsafe", "sync", "main", "init",
		"forward", "pack", "k_a", "errNoLayer", "Forward",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			spec := fmt.Sprintf(`{"package": "k", "layers": [{"name": "a", "cin": 8, "cout": 8, "k": 1}, {"name": %q, "cin": 8, "cout": 8, "k": 3, "pad": 1}]}`, name)
			s, err := gen.ParseSpec("f.json", []byte(spec))
			if err != nil {
				t.Logf("rejected: %v", err)
				return
			}
			plan, err := gen.NewPlan(s)
			if err != nil {
				t.Fatalf("NewPlan: %v", err)
			}
			files, err := gen.Generate(plan)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			p := DuplicateDecls(files)
			if len(p) == 0 {
				return
			}
			t.Fatalf("layer name %q is accepted but the package does not compile:\n%s", name, strings.Join(p, "\n"))
		})
	}
}

// TestGeneratorIsPlatformIndependent: the generated bytes may depend only
// on the spec, not on the machine generating them. convgen's code has no
// build constraints and never asks which GOOS/GOARCH it runs on, so a
// package generated on arm64 or darwin is the one generated here (which
// TestRandomSpecs and gen's regeneration check compare byte for byte).
// templates/driver is exempt: it is copied as source, not run.
func TestGeneratorIsPlatformIndependent(t *testing.T) {
	var files []string
	for _, dir := range []string{"../../gen", "../../templates", "../../cmd/convgen"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no generator sources found")
	}
	archSuffix := regexp.MustCompile(`_(linux|darwin|windows|freebsd|amd64|arm64|386|arm|wasm|riscv64|ppc64le|s390x)(_test)?\.go$`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if archSuffix.MatchString(f) {
			t.Errorf("%s: a GOOS/GOARCH file name suffix makes the generator differ per platform", f)
		}
		for _, bad := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^//go:build`), regexp.MustCompile(`(?m)^// \+build`),
			regexp.MustCompile(`runtime\.GO(OS|ARCH)`), regexp.MustCompile(`build\.Default`),
		} {
			if bad.Match(src) {
				t.Errorf("%s: matches %s: the generated code could depend on the generating platform", f, bad)
			}
		}
	}
}
