package cifuzz

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const (
	targetsFile  = "../../.ci/fuzz-targets"
	generatedDir = "../../generated"
)

// entry is one line of .ci/fuzz-targets.
type entry struct {
	preset, target, class string
	line                  int
}

func readTargets(t *testing.T) []entry {
	t.Helper()
	f, err := os.Open(targetsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var es []entry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("%s:%d: %q: want preset, target, kernel class", targetsFile, n, line)
		}
		es = append(es, entry{preset: f[0], target: f[1], class: f[2], line: n})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return es
}

var (
	channels     = regexp.MustCompile(`_(ci|co|c)\d+`)
	groupsOfCin  = regexp.MustCompile(`_ci(\d+)_co\d+_g(\d+)_`)
	kernelPrefix = "k_"
)

// class is a kernel's class: its name without "k_" and the channel counts,
// with groups equal to the input channels (depthwise) written "gdw":
// k_dwconv3x3_c144_s1_d1_relu6 → dwconv3x3_s1_d1_relu6,
// k_nchwconv3x3_ci96_co96_g96_s2_d1_relu6 → nchwconv3x3_gdw_s2_d1_relu6.
func class(kernel string) string {
	k := strings.TrimPrefix(kernel, kernelPrefix)
	if m := groupsOfCin.FindStringSubmatch(k); m != nil && m[1] == m[2] {
		k = strings.Replace(k, "_g"+m[2]+"_", "_gdw_", 1)
	}
	return channels.ReplaceAllString(k, "")
}

func TestClass(t *testing.T) {
	for kernel, want := range map[string]string{
		"k_dwconv3x3_c144_s1_d1_relu6":            "dwconv3x3_s1_d1_relu6",
		"k_nchwconv3x3_ci96_co96_g96_s2_d1_relu6": "nchwconv3x3_gdw_s2_d1_relu6",
		"k_nchwconv3x3_ci3_co32_g1_s2_d1_relu6":   "nchwconv3x3_g1_s2_d1_relu6",
		"k_pwconv_ci240_co60_g3_s1_relu_shuffle3": "pwconv_g3_s1_relu_shuffle3",
		"k_gconv3x3_ci1024_co1024_g32_s2_d1_relu": "gconv3x3_g32_s2_d1_relu",
		"k_pgconv3x3_c128_g32_s1_d1_relu":         "pgconv3x3_g32_s1_d1_relu",
		"k_gconv3x3_ci32_co32_g32_s1_d1_none":     "gconv3x3_gdw_s1_d1_none",
	} {
		if got := class(kernel); got != want {
			t.Errorf("class(%s) = %s, want %s", kernel, got, want)
		}
	}
}

// fuzzKernels maps each FuzzX of a generated package's layers_test.go to
// the kernel it fuzzes (the argument of its kernelImpls call).
func fuzzKernels(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Fuzz") {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || out[fn.Name.Name] != "" {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "kernelImpls" && len(call.Args) == 1 {
				if arg, ok := call.Args[0].(*ast.Ident); ok && strings.HasPrefix(arg.Name, kernelPrefix) {
					out[fn.Name.Name] = arg.Name
				}
			}
			return true
		})
		if out[fn.Name.Name] == "" {
			t.Errorf("%s: %s fuzzes no kernelImpls(k_...) kernel: this test cannot class it", file, fn.Name.Name)
		}
	}
	return out
}

// TestFuzzTargetsCoverEveryKernelClass: every line of .ci/fuzz-targets names
// an existing fuzz target of its preset and that target's kernel class, no
// target twice, and every kernel class of every preset has a line.
func TestFuzzTargetsCoverEveryKernelClass(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(generatedDir, "*", "layers_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no generated/*/layers_test.go: %v", err)
	}
	kernels := map[string]map[string]string{} // preset -> target -> kernel
	classes := map[string][]string{}          // class -> preset.target, all of them
	total := 0
	for _, file := range files {
		preset := filepath.Base(filepath.Dir(file))
		kernels[preset] = fuzzKernels(t, file)
		for target, k := range kernels[preset] {
			classes[class(k)] = append(classes[class(k)], preset+"."+target)
			total++
		}
	}
	covered := map[string]bool{}
	seen := map[string]bool{}
	entries := readTargets(t)
	for _, e := range entries {
		at := fmt.Sprintf("%s:%d: %s %s", targetsFile, e.line, e.preset, e.target)
		if seen[e.preset+"."+e.target] {
			t.Errorf("%s: listed twice", at)
		}
		seen[e.preset+"."+e.target] = true
		ts, ok := kernels[e.preset]
		if !ok {
			t.Errorf("%s: no preset %s under generated/", at, e.preset)
			continue
		}
		k, ok := ts[e.target]
		if !ok {
			t.Errorf("%s: generated/%s has no fuzz target %s", at, e.preset, e.target)
			continue
		}
		if c := class(k); c != e.class {
			t.Errorf("%s: the target fuzzes %s, of class %s, not %s", at, k, c, e.class)
		}
		covered[class(k)] = true
	}
	var missing []string
	for c, ts := range classes {
		if !covered[c] {
			sort.Strings(ts)
			missing = append(missing, fmt.Sprintf("%s (%s)", c, strings.Join(ts, ", ")))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("kernel classes without a line in %s (add one of their fuzz targets, the one with the fewest channels):\n%s",
			targetsFile, strings.Join(missing, "\n"))
	}
	t.Logf("%d of %d preset fuzz targets in CI's set, covering the %d kernel classes", len(entries), total, len(classes))
}
