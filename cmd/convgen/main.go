// Command convgen generates a Go package of shape-specialized, verified
// convolution kernels (AVX2/FMA assembly plus a pure-Go path) from a list
// of layer shapes.
//
//	convgen -spec layers.json -pkg kernels -out ./kernels
//	convgen -layer 'dw1:cin=32,cout=32,k=3,groups=32,stride=2,pad=1' -pkg kernels
//	convgen -onnx model.onnx -pkg kernels -out ./kernels -weights kernels.cvgw
//	convgen explain -spec layers.json
//	convgen lanes -onnx model.onnx -first conv4 -second conv5 -o lanes.png
//
// In a go:generate line: //go:generate go tool convgen -spec layers.json -pkg kernels
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/convgen/convgen/gen"
	"github.com/convgen/convgen/weights"
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
// `convgen explain` and `convgen lanes` are subcommands with flags of their own.
func run(args []string, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "explain":
			return runExplain(args[1:], os.Stdout, stderr)
		case "lanes":
			return runLanes(args[1:], os.Stdout, stderr)
		}
	}
	fset := flag.NewFlagSet("convgen", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var o options
	fset.StringVar(&o.specPath, "spec", "", "JSON spec `file` listing the layers")
	fset.StringVar(&o.onnxPath, "onnx", "", "ONNX model `file`: every Conv node becomes a layer (after -spec's, before -layer's)")
	fset.StringVar(&o.pkg, "pkg", "", "package `name` of the generated code (default: the spec's \"package\")")
	fset.StringVar(&o.out, "out", ".", "output `directory`; created if missing, replaced only when generation succeeds")
	fset.StringVar(&o.emitSpec, "emit-spec", "", "write the layers as a JSON spec to `file`; without an explicit -out nothing is generated")
	fset.StringVar(&o.weights, "weights", "", "with -onnx: write the Conv weights and biases to `file` (CVGW format, read with package github.com/convgen/convgen/weights)")
	fset.BoolVar(&o.verbose, "v", false, "progress on stderr: the plan, each assembly file as it is built, the files written")
	fset.Var(&o.inline, "layer", "a layer inline, repeatable: 'name:cin=32,cout=32,k=3,groups=32,stride=2,pad=1,dilation=1,bias=true,act=relu6'")
	fset.Usage = func() {
		fmt.Fprintf(fset.Output(), "usage: convgen [-spec FILE] [-onnx FILE] [-layer SPEC]... [-pkg NAME] [-out DIR] [-emit-spec FILE] [-weights FILE] [-v]\n")
		fmt.Fprintf(fset.Output(), "       convgen explain [-spec FILE] [-onnx FILE] [-layer SPEC]... [-json]   (cost report)\n")
		fmt.Fprintf(fset.Output(), "       convgen lanes -onnx FILE -first NODE -second NODE [-o FILE.png]   (filter-correlation picture)\n\n")
		fmt.Fprintf(fset.Output(), "Generates a package of AVX2/FMA and pure-Go convolution kernels, with tests, fuzz targets and benchmarks.\n\n")
		fset.PrintDefaults()
	}
	if code, ok := parseFlags(fset, args, stderr, "convgen"); !ok {
		return code
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "convgen: unexpected argument %q (layers go in -spec, -onnx or -layer)\n", fset.Arg(0))
		return 2
	}
	fset.Visit(func(f *flag.Flag) { o.outGiven = o.outGiven || f.Name == "out" })
	if err := generate(o, stderr); err != nil {
		fmt.Fprintf(stderr, "convgen: %v\n", err)
		return 2
	}
	return 0
}

// options are the generate path's flags.
type options struct {
	specPath, onnxPath string
	inline             layerFlags
	pkg, out           string
	outGiven           bool // -out was on the command line
	emitSpec, weights  string
	verbose            bool
}

// generate writes the package, the -emit-spec spec and the -weights file.
// Everything is worked out and staged first, so that nothing is written
// when anything fails. With -emit-spec and no explicit -out, only the spec
// (and the weights) are written: the spec is meant for editing.
func generate(o options, stderr io.Writer) error {
	spec, model, err := loadLayers(o.specPath, o.onnxPath, o.inline)
	if err != nil {
		return err
	}
	if o.weights != "" && model == nil {
		return errors.New("-weights needs -onnx: the weights come from the model's initializers")
	}
	if o.pkg != "" {
		spec.Package = o.pkg
	}
	build := o.emitSpec == "" || o.outGiven
	if build && spec.Package == "" {
		return errors.New(`no package name: give -pkg NAME or "package" in the spec`)
	}
	plan, err := gen.NewPlan(spec)
	if err != nil {
		return err
	}

	// Files to write besides the package, staged before anything is replaced.
	// One inside an -out directory that does not exist yet can only be staged
	// once WriteDir has made it.
	type extra struct {
		path string
		data []byte
	}
	var extras []extra
	if o.weights != "" {
		entries, err := model.WeightEntries()
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := weights.Write(&buf, entries); err != nil {
			return err
		}
		extras = append(extras, extra{o.weights, buf.Bytes()})
	}
	if o.emitSpec != "" {
		extras = append(extras, extra{o.emitSpec, gen.FormatSpec(spec)})
	}
	var outputs []*staged
	defer func() {
		for _, s := range outputs {
			s.discard() // no-op once committed
		}
	}()
	var later []extra
	_, statErr := os.Stat(o.out)
	outMissing := build && errors.Is(statErr, fs.ErrNotExist)
	for _, e := range extras {
		if outMissing && filepath.Clean(filepath.Dir(e.path)) == filepath.Clean(o.out) {
			later = append(later, e)
			continue
		}
		s, err := stage(e.path, e.data)
		if err != nil {
			return err
		}
		outputs = append(outputs, s)
	}

	if build {
		start := time.Now()
		var progress func(string, ...any)
		if o.verbose {
			fmt.Fprintf(stderr, "planned %d layers → %d kernels\n", len(plan.Layers), len(plan.Kernels))
			progress = func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
		}
		files, err := gen.GenerateProgress(plan, progress)
		if err != nil {
			return err
		}
		if err := gen.WriteDir(o.out, files); err != nil {
			return err
		}
		if o.verbose {
			fmt.Fprintf(stderr, "wrote %d files to %s in %.1f s\n", len(files), o.out, time.Since(start).Seconds())
		}
		for _, e := range later {
			s, err := stage(e.path, e.data)
			if err != nil {
				return err
			}
			outputs = append(outputs, s)
		}
	}
	for _, s := range outputs {
		if err := s.commit(); err != nil {
			return err
		}
		if o.verbose {
			fmt.Fprintf(stderr, "wrote %s\n", s.path)
		}
	}
	return nil
}

// parseFlags parses args quietly, so that a bad flag gets one line
// ("name: error") and -h the whole usage, for every subcommand alike. ok
// is false when the command should exit with code.
func parseFlags(fset *flag.FlagSet, args []string, stderr io.Writer, name string) (code int, ok bool) {
	fset.SetOutput(io.Discard)
	err := fset.Parse(args)
	fset.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fset.Usage()
		return 0, false
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v (%s -h lists the flags)\n", name, err, name)
		return 2, false
	}
	return 0, true
}
