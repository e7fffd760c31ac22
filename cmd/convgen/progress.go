package main

import (
	"fmt"
	"io"
	"time"

	"github.com/convgen/convgen/gen"
	"github.com/convgen/convgen/templates"
)

// reportProgress prints -v's detail: the plan, then every kernel as it is
// assembled, with the time it took. gen.Generate assembles all kernels in
// one go and reports nothing, so each kernel is assembled once more on its
// own here to time it; that only happens with -v.
func reportProgress(w io.Writer, p *gen.Plan) error {
	fmt.Fprintf(w, "planned %d layers → %d kernels\n", len(p.Layers), len(p.Kernels))
	for _, k := range p.Kernels {
		start := time.Now()
		if _, err := templates.AVX2File(p.Package, []templates.Kernel{k}); err != nil {
			return err
		}
		fmt.Fprintf(w, "assembled %s (%s, %s) in %d ms\n", k.Name, k.Family, tileString(k), time.Since(start).Milliseconds())
	}
	return nil
}

// tileString is the register tile: output channels × output pixels per step.
func tileString(k templates.Kernel) string {
	return fmt.Sprintf("%dch x %dpx", templates.Lanes*k.BlockVec, k.PixTile)
}
