// Command convgen generates a Go package of shape-specialized, verified
// convolution kernels (AVX2/FMA assembly plus a pure-Go path) from a list
// of layer shapes.
//
//	convgen -spec layers.json -pkg kernels -out ./kernels
//	convgen -layer 'dw1:cin=32,cout=32,k=3,groups=32,stride=2,pad=1' -pkg kernels
//
// In a go:generate line: //go:generate go tool convgen -spec layers.json -pkg kernels
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/convgen/convgen/gen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// layerFlags collects repeated -layer values.
type layerFlags []string

func (l *layerFlags) String() string     { return fmt.Sprint(*l) }
func (l *layerFlags) Set(v string) error { *l = append(*l, v); return nil }

// run is main without the exit, for tests: 0 on success, 2 on any error
// (bad flags, bad spec, unwritable output), with one line per problem.
func run(args []string, stderr io.Writer) int {
	fset := flag.NewFlagSet("convgen", flag.ContinueOnError)
	fset.SetOutput(stderr)
	specPath := fset.String("spec", "", "JSON spec `file` listing the layers")
	pkg := fset.String("pkg", "", "package `name` of the generated code (default: the spec's \"package\")")
	out := fset.String("out", ".", "output `directory`; created if missing, replaced only when generation succeeds")
	var layers layerFlags
	fset.Var(&layers, "layer", "a layer inline, repeatable: 'name:cin=32,cout=32,k=3,groups=32,stride=2,pad=1,dilation=1,bias=true,act=relu6'")
	fset.Usage = func() {
		fmt.Fprintf(stderr, "usage: convgen [-spec FILE] [-layer SPEC]... [-pkg NAME] [-out DIR]\n\n")
		fmt.Fprintf(stderr, "Generates a package of AVX2/FMA and pure-Go convolution kernels, with tests, fuzz targets and benchmarks.\n\n")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "convgen: unexpected argument %q (layers go in -spec or -layer)\n", fset.Arg(0))
		return 2
	}
	if err := generate(*specPath, layers, *pkg, *out); err != nil {
		fmt.Fprintf(stderr, "convgen: %v\n", err)
		return 2
	}
	return 0
}

func generate(specPath string, inline []string, pkg, out string) error {
	spec := &gen.Spec{Source: "-layer"}
	if specPath == "" && len(inline) == 0 {
		return errors.New("no layers: give -spec FILE or -layer")
	}
	if specPath != "" {
		data, err := os.ReadFile(specPath)
		if err != nil {
			return err
		}
		if spec, err = gen.ParseSpec(specPath, data); err != nil {
			return err
		}
	}
	var errs []error
	for i, arg := range inline {
		l, err := gen.ParseInlineLayer(arg, i+1)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		spec.Layers = append(spec.Layers, l)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if pkg != "" {
		spec.Package = pkg
	}
	if spec.Package == "" {
		return errors.New(`no package name: give -pkg NAME or "package" in the spec`)
	}
	plan, err := gen.NewPlan(spec)
	if err != nil {
		return err
	}
	files, err := gen.Generate(plan)
	if err != nil {
		return err
	}
	return gen.WriteDir(out, files)
}
