package specsweep

import (
	"bytes"
	"testing"

	"github.com/convgen/convgen/gen"
	"github.com/convgen/convgen/templates"
)

// TestRandomIsValidAndCovering: for many seeds, every random spec parses
// and plans, every family and every field form occurs, all four kernel
// families of the planner are used, and a seed gives the same specs twice.
func TestRandomIsValidAndCovering(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		pkgs := Random(seed, sweepPackages, sweepLayers)
		again := Random(seed, sweepPackages, sweepLayers)
		families := map[string]bool{}
		forms := map[string]map[string]bool{}
		kernels := map[templates.Family]bool{}
		for i, pkg := range pkgs {
			if !bytes.Equal(pkg.JSON(), again[i].JSON()) {
				t.Fatalf("seed %d: Random is not deterministic", seed)
			}
			s, err := gen.ParseSpec(pkg.Name+".json", pkg.JSON())
			if err != nil {
				t.Fatalf("seed %d: %v\n%s", seed, err, pkg.JSON())
			}
			plan, err := gen.NewPlan(s)
			if err != nil {
				t.Fatalf("seed %d: %v\n%s", seed, err, pkg.JSON())
			}
			for _, k := range plan.Kernels {
				kernels[k.Family] = true
			}
			for j, l := range pkg.Layers {
				families[l.Family] = true
				for field, form := range l.Forms {
					if field == "groups" && l.Family != "dense" {
						continue
					}
					if forms[field] == nil {
						forms[field] = map[string]bool{}
					}
					forms[field][form] = true
				}
				pl := s.Layers[j]
				if macs := pl.Cout * pl.Cin / pl.Groups * pl.KH * pl.KW; pl.Cin > maxChannels || pl.Cout > maxChannels || pl.KH > maxK || pl.KW > maxK || macs > maxMACs {
					t.Errorf("seed %d: %s is out of bounds (MACs per pixel %d)", seed, l.JSON, macs)
				}
			}
		}
		for _, f := range Families {
			if !families[f] {
				t.Errorf("seed %d: no %s layer", seed, f)
			}
		}
		for field, all := range FieldForms {
			for _, form := range all {
				if !forms[field][form] {
					t.Errorf("seed %d: field %s never has form %q", seed, field, form)
				}
			}
		}
		for _, f := range []templates.Family{templates.Depthwise, templates.Grouped, templates.Pointwise, templates.PackedGroups} {
			if !kernels[f] {
				t.Errorf("seed %d: no %v kernel planned", seed, f)
			}
		}
	}
}
