package specsweep

import (
	"strings"
	"testing"

	"github.com/convgen/convgen/gen"
)

// TestExtraTestsKeepLayout: the sweep's extra tests describe each layer
// to verify with a verify.Conv literal; an NCHW layer's must say so, or
// verify checks its NCHW kernel against the NHWC reference.
func TestExtraTestsKeepLayout(t *testing.T) {
	l, err := gen.ParseInlineLayer("p:cin=4,cout=8,k=3,groups=2,pad=1,layout=nchw", 1)
	if err != nil {
		t.Fatal(err)
	}
	n, err := gen.ParseInlineLayer("q:cin=4,cout=8,k=3,groups=2,pad=1", 2)
	if err != nil {
		t.Fatal(err)
	}
	src := string(ExtraTests("k", []gen.Layer{l, n}, nil)["sweep_extra_test.go"])
	if !strings.Contains(src, "var sweepConvP = verify.Conv{") || !strings.Contains(src, "var sweepConvQ = verify.Conv{") {
		t.Fatalf("no verify.Conv literal for the layers:\n%s", src)
	}
	line := func(name string) string {
		i := strings.Index(src, "var sweepConv"+name+" = ")
		return src[i : i+strings.Index(src[i:], "\n")]
	}
	if strings.Contains(line("Q"), "NCHW: true") {
		t.Errorf("the NHWC layer's literal says NCHW: %s", line("Q"))
	}
	if !strings.Contains(line("P"), "NCHW: true") {
		t.Errorf("the NCHW layer's literal drops the layout: %s", line("P"))
	}
}
