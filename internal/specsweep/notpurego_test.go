//go:build !purego

package specsweep

const sweepUnderPurego = false
