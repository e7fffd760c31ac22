package driver

import _ "embed"

// Source is driver.go, which convgen copies into every generated package.
//
//go:embed driver.go
var Source string

// SourcePlanar is planar.go, the NCHW half of the driver, which convgen
// copies into packages that have an NCHW layer.
//
//go:embed planar.go
var SourcePlanar string
