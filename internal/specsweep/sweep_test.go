package specsweep

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convgen/convgen/gen"
)

const (
	// sweepPackages packages of sweepLayers random layers each per run.
	sweepPackages = 5
	sweepLayers   = 10
	// shortSeed is the seed under -short, so that a quick run is repeatable.
	shortSeed = 1
)

// sweepSeed is CONVGEN_SWEEP_SEED when set, else shortSeed under -short,
// else derived from the clock. It is printed either way.
func sweepSeed(t *testing.T) uint64 {
	if s := os.Getenv("CONVGEN_SWEEP_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CONVGEN_SWEEP_SEED=%q: want an unsigned integer", s)
		}
		return seed
	}
	if testing.Short() {
		return shortSeed
	}
	return uint64(time.Now().UnixNano()) % 1_000_000_007
}

// TestRandomSpecs is the randomized shape sweep: ~50 random valid layers
// (every family, every field form, about a third of them NCHW) in 5
// packages, each package parsed from its JSON with gen.ParseSpec, planned,
// generated (one of them a second time from its -layer forms, at the same
// time: the bytes must be identical), checked for AVX-512 in its AVX2 assembly and for identifiers
// declared twice, and written with the sweep's extra tests (ExtraTests)
// into one temporary module that replaces this module with the working
// tree. Then go vet (amd64 and arm64), go test and go test -tags purego
// run over it: the generated tests verify every layer on every kernel path.
// A failure prints the seed, the command that repeats it and the JSON of
// the failing layers.
func TestRandomSpecs(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	if sweepUnderPurego {
		t.Skip("the sweep runs both kernel paths itself; skipped with -tags purego")
	}
	seed := sweepSeed(t)
	repro := fmt.Sprintf("CONVGEN_SWEEP_SEED=%d go test -count=1 -run TestRandomSpecs -v ./internal/specsweep", seed)
	t.Logf("random spec sweep: seed %d, %d packages of %d layers (repeat with: %s)", seed, sweepPackages, sweepLayers, repro)
	fmt.Printf("specsweep: seed %d\n", seed)

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	pkgs := Random(seed, sweepPackages, sweepLayers)
	parsed := map[string][]gen.Layer{}
	families := map[string]bool{}
	// Every package is generated on GOMAXPROCS goroutines at once, and one
	// of them (chosen by the seed) a second time from its layers' -layer
	// forms: the two must be byte-identical.
	// (Generating is most of the sweep's time; gen's tests compare a second
	// generation of every preset.)
	twice := int(seed % uint64(len(pkgs)))
	type generated struct {
		files  map[string][]byte
		layers []gen.Layer
		err    error
	}
	results := make([][2]generated, len(pkgs))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	start := time.Now()
	for i, pkg := range pkgs {
		for j := range 2 {
			if j == 1 && i != twice {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				r := &results[i][j]
				if j == 0 {
					r.files, r.layers, r.err = generateFrom(pkg.Name+".json", pkg.JSON())
				} else {
					r.files, r.layers, r.err = generateInline(pkg.Name, pkg.Inline())
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("generated %d packages (and %s again, from its -layer forms) in %.1fs", len(pkgs), pkgs[twice].Name, time.Since(start).Seconds())
	for i, pkg := range pkgs {
		data := pkg.JSON()
		fail := func(format string, a ...any) {
			t.Helper()
			t.Fatalf("seed %d, package %s: %s\nspec:\n%s\nrepeat with: %s", seed, pkg.Name, fmt.Sprintf(format, a...), data, repro)
		}
		files, layers, err := results[i][0].files, results[i][0].layers, results[i][0].err
		if err != nil {
			fail("%v", err)
		}
		if i == twice {
			again, err := results[i][1].files, results[i][1].err
			if err != nil {
				fail("generation from the -layer forms %q: %v", pkg.Inline(), err)
			}
			if len(again) != len(files) {
				fail("the JSON spec and the same layers as -layer flags gave %d and %d files", len(files), len(again))
			}
			for name, b := range files {
				if !bytes.Equal(b, again[name]) {
					fail("%s differs between the generations from the JSON spec and from the -layer forms %q", name, pkg.Inline())
				}
			}
		}
		if p := DuplicateDecls(files); len(p) > 0 {
			fail("identifiers declared twice:\n%s", strings.Join(p, "\n"))
		}
		var names []string
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if strings.HasSuffix(name, ".s") && !IsAVX512File(name) {
				if p := AVX512Problems(name, files[name]); len(p) > 0 {
					fail("AVX-512 in an AVX2 file:\n%s", strings.Join(p[:min(len(p), 10)], "\n"))
				}
			}
		}
		for name, b := range ExtraTests(pkg.Name, layers, files["dispatch_amd64.go"]) {
			files[name] = b
		}
		files["spec.json"] = data
		if err := gen.WriteDir(filepath.Join(mod, pkg.Name), files); err != nil {
			fail("write: %v", err)
		}
		parsed[pkg.Name] = layers
		for _, l := range pkg.Layers {
			families[l.Family] = true
		}
	}
	for _, f := range Families {
		if !families[f] {
			t.Errorf("seed %d: no %s layer in the sweep", seed, f)
		}
	}

	gomod := "module sweep.example\n\ngo 1.24\n\nrequire github.com/convgen/convgen v0.0.0\n\nreplace github.com/convgen/convgen => " + root + "\n"
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name string
		env  []string
		args []string
	}{
		{"go mod tidy", nil, []string{"mod", "tidy"}},
		{"go vet (amd64)", nil, []string{"vet", "./..."}},
		{"go vet (arm64)", []string{"GOARCH=arm64"}, []string{"vet", "./..."}},
		{"go test", nil, []string{"test", "-count=1", "./..."}},
		{"go test -tags purego", nil, []string{"test", "-count=1", "-tags", "purego", "./..."}},
	}
	for _, s := range steps {
		start = time.Now()
		cmd := exec.Command("go", s.args...)
		cmd.Dir = mod
		cmd.Env = append(append(os.Environ(), "GOFLAGS=-mod=mod"), s.env...)
		out, err := cmd.CombinedOutput()
		t.Logf("%s: %.1fs", s.name, time.Since(start).Seconds())
		if err != nil {
			t.Fatalf("seed %d: %s failed: %v\n%s\n%s\nrepeat with: %s", seed, s.name, err, out, failingSpecs(out, pkgs, parsed), repro)
		}
	}
	t.Logf("seed %d: %d random layers in %d packages generated, vetted and verified", seed, sweepPackages*sweepLayers, sweepPackages)
}

// generateInline is generateFrom for layers given as -layer arguments
// (what convgen -layer ... -pkg pkg does).
func generateInline(pkg string, args []string) (map[string][]byte, []gen.Layer, error) {
	spec := &gen.Spec{Source: "-layer", Package: pkg}
	for i, arg := range args {
		l, err := gen.ParseInlineLayer(arg, i+1)
		if err != nil {
			return nil, nil, fmt.Errorf("ParseInlineLayer rejected a layer meant to be valid: %w", err)
		}
		spec.Layers = append(spec.Layers, l)
	}
	return generateSpec(spec)
}

// generateFrom runs convgen's pipeline on a JSON spec: ParseSpec, NewPlan,
// Generate.
func generateFrom(source string, data []byte) (map[string][]byte, []gen.Layer, error) {
	spec, err := gen.ParseSpec(source, data)
	if err != nil {
		return nil, nil, fmt.Errorf("ParseSpec rejected a spec meant to be valid: %w", err)
	}
	return generateSpec(spec)
}

// generateSpec plans and generates a parsed spec.
func generateSpec(spec *gen.Spec) (map[string][]byte, []gen.Layer, error) {
	plan, err := gen.NewPlan(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("NewPlan: %w", err)
	}
	files, err := gen.Generate(plan)
	if err != nil {
		return nil, nil, fmt.Errorf("Generate: %w", err)
	}
	return files, spec.Layers, nil
}

var (
	failedTestRE = regexp.MustCompile(`--- FAIL: (\w+)`)
	failedPkgRE  = regexp.MustCompile(`(?m)^(?:FAIL\s+|# |ok\s+)?sweep\.example/(\w+)`)
)

// failingSpecs names, for go command output, the layers of the failing
// tests with their JSON, or whole specs when no test is named (a build or
// vet failure).
func failingSpecs(out []byte, pkgs []Package, parsed map[string][]gen.Layer) string {
	tests := map[string]bool{}
	for _, m := range failedTestRE.FindAllSubmatch(out, -1) {
		tests[string(m[1])] = true
	}
	mentioned := map[string]bool{}
	for _, m := range failedPkgRE.FindAllSubmatch(out, -1) {
		mentioned[string(m[1])] = true
	}
	var b strings.Builder
	for _, pkg := range pkgs {
		var hit []string
		for i, l := range parsed[pkg.Name] {
			ty := l.TypeName()
			for name := range tests {
				if strings.HasSuffix(name, ty) && (strings.HasPrefix(name, "Test") || strings.HasPrefix(name, "Fuzz")) {
					hit = append(hit, pkg.Layers[i].JSON)
					break
				}
			}
		}
		switch {
		case len(hit) > 0:
			fmt.Fprintf(&b, "failing layers of package %s:\n  %s\n", pkg.Name, strings.Join(hit, "\n  "))
		case len(tests) == 0 && mentioned[pkg.Name]:
			fmt.Fprintf(&b, "spec of package %s:\n%s", pkg.Name, pkg.JSON())
		}
	}
	if b.Len() == 0 {
		for _, pkg := range pkgs {
			fmt.Fprintf(&b, "spec of package %s:\n%s", pkg.Name, pkg.JSON())
		}
	}
	return b.String()
}
