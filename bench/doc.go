// Package bench compares convgen's generated kernels with oneDNN and XNNPACK
// on a fixed set of grouped, depthwise, pointwise and dense layers.
//
// The kernels package is generated from spec.json at bench time (it is not
// checked in), so the numbers always come from the current generator; so is
// the capabilities package, from capabilities.json: fused blocks, NCHW,
// shuffle and channel-multiplier layers, whose ratios cmd/captable prints.
package bench

//go:generate go run github.com/convgen/convgen/cmd/convgen -spec spec.json -pkg kernels -out kernels
//go:generate go run github.com/convgen/convgen/cmd/convgen -spec capabilities.json -pkg capabilities -out capabilities
