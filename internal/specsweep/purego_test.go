//go:build purego

package specsweep

// sweepUnderPurego: with -tags purego (make test-purego) TestRandomSpecs
// is skipped. It tests no kernel in its own process: it already runs the
// generated packages' tests with and without -tags purego itself.
const sweepUnderPurego = true
