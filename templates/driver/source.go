package driver

import _ "embed"

// Source is driver.go, which convgen copies into every generated package.
//
//go:embed driver.go
var Source string
