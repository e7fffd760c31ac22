package specsweep

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/convgen/convgen/gen"
	"github.com/convgen/convgen/templates"
)

// TestRandomIsValidAndCovering: for many seeds, every random spec parses
// and plans, every family and every field form occurs, all five kernel
// families of the planner are used (NCHW layers and only they get the
// Planar one), every layer's -layer form parses to the same layer as its
// JSON, and a seed gives the same specs twice. Over all seeds, every
// family is drawn as NCHW, and about a third of the layers are.
func TestRandomIsValidAndCovering(t *testing.T) {
	nchwFamilies := map[string]bool{}
	layers, nchw, shuffledNCHW := 0, 0, 0
	for seed := uint64(1); seed <= 40; seed++ {
		pkgs := Random(seed, sweepPackages, sweepLayers)
		again := Random(seed, sweepPackages, sweepLayers)
		families := map[string]bool{}
		forms := map[string]map[string]bool{}
		kernels := map[templates.Family]bool{}
		for i, pkg := range pkgs {
			if !bytes.Equal(pkg.JSON(), again[i].JSON()) || strings.Join(pkg.Inline(), " ") != strings.Join(again[i].Inline(), " ") {
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
				il, err := gen.ParseInlineLayer(l.Inline, j+1)
				if err != nil {
					t.Fatalf("seed %d: -layer %q: %v (JSON %s)", seed, l.Inline, err, l.JSON)
				}
				il.Source = pl.Source
				if !reflect.DeepEqual(il, pl) {
					t.Errorf("seed %d: -layer %q gives\n%+v\nits JSON %s gives\n%+v", seed, l.Inline, il, l.JSON, pl)
				}
				if pl.NCHW != l.NCHW() || pl.NCHW != strings.Contains(l.Inline, "layout=nchw") {
					t.Errorf("seed %d: %s: drawn with layout %q, parsed NCHW=%v", seed, l.JSON, l.Forms["layout"], pl.NCHW)
				}
				if k := plan.Kernels[plan.Layers[j].Kernel]; (k.Family == templates.Planar) != pl.NCHW {
					t.Errorf("seed %d: %s: NCHW=%v but kernel family %v", seed, l.JSON, pl.NCHW, k.Family)
				}
				layers++
				if pl.NCHW {
					nchw++
					nchwFamilies[l.Family] = true
					if pl.Shuffle > 1 {
						shuffledNCHW++
						if pl.Cin > maxShuffledNCHW || pl.Cout > maxShuffledNCHW {
							t.Errorf("seed %d: shuffled NCHW layer %s has more than %d channels", seed, l.JSON, maxShuffledNCHW)
						}
					}
				}
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
		for _, f := range []templates.Family{templates.Depthwise, templates.Grouped, templates.Pointwise, templates.PackedGroups, templates.Planar} {
			if !kernels[f] {
				t.Errorf("seed %d: no %v kernel planned", seed, f)
			}
		}
	}
	for _, f := range Families {
		if !nchwFamilies[f] {
			t.Errorf("no NCHW %s layer in any seed", f)
		}
	}
	if shuffledNCHW == 0 {
		t.Errorf("no shuffled NCHW layer in any seed")
	}
	if nchw < layers/4 || nchw > layers/2 {
		t.Errorf("%d of %d layers are NCHW, want about a third", nchw, layers)
	}
}
