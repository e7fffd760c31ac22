package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/convgen/convgen/gen"
)

// runExplain is `convgen explain`: the cost report of a spec or model.
func runExplain(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("convgen explain", flag.ContinueOnError)
	fset.SetOutput(stderr)
	specPath := fset.String("spec", "", "JSON spec `file` listing the layers")
	onnxPath := fset.String("onnx", "", "ONNX model `file`: every Conv node is a layer")
	var inline layerFlags
	fset.Var(&inline, "layer", "a layer inline, repeatable (as for convgen -layer)")
	asJSON := fset.Bool("json", false, "print JSON ({\"machine\", \"ridge\", \"layers\": [...], \"totals\"}) instead of a table")
	peak := fset.Float64("peak", 117, "the machine's peak FP32 `GFLOP/s` for these kernels")
	bw := fset.Float64("bw", 28, "the machine's memory bandwidth in `GB/s` (28: DRAM; use about 117 for layers that stay in L2)")
	fset.Usage = func() {
		fmt.Fprintf(fset.Output(), "usage: convgen explain [-spec FILE] [-onnx FILE] [-layer SPEC]... [-peak GFLOPS] [-bw GBS] [-json]\n\n")
		fmt.Fprintf(fset.Output(), "Per layer: parameters, MACs, the dense equivalent and the saving (= groups), arithmetic intensity,\n")
		fmt.Fprintf(fset.Output(), "compute- or memory-bound against the ridge peak/bw, and the kernel family and register tile chosen.\n")
		fmt.Fprintf(fset.Output(), "MACs per image need the layer's \"input\" size (ONNX: from the model's shapes).\n\n")
		fset.PrintDefaults()
	}
	if code, ok := parseFlags(fset, args, stderr, "convgen explain"); !ok {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "convgen explain: %v\n", err)
		return 2
	}
	if fset.NArg() > 0 {
		return fail(fmt.Errorf("unexpected argument %q", fset.Arg(0)))
	}
	if !(*peak > 0) || !(*bw > 0) {
		return fail(fmt.Errorf("-peak=%g -bw=%g: both must be positive", *peak, *bw))
	}
	spec, _, err := loadLayers(*specPath, *onnxPath, inline)
	if err != nil {
		return fail(err)
	}
	plan, err := gen.NewPlan(spec)
	if err != nil {
		return fail(err)
	}
	cost := gen.Explain(plan, gen.Machine{PeakGFLOPS: *peak, BandwidthGBs: *bw})
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // keep "96->256" readable
		if err := enc.Encode(cost); err != nil {
			return fail(err)
		}
		return 0
	}
	if err := cost.WriteTable(stdout); err != nil {
		return fail(err)
	}
	return 0
}
