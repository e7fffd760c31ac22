package gen

import (
	"fmt"
	"go/token"
	"regexp"
	"strings"
)

var (
	// Layer names become exported Go type names, so they must be ASCII
	// identifiers; the first letter is upper-cased to export them.
	layerNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	// Package names are lower-case by Go convention, and the generated
	// package's directory is usually named after it.
	packageNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// TypeName is the exported Go type generated for the layer: its name with the
// first letter upper-cased and the rest kept (dw1 → Dw1, conv2_1 → Conv2_1).
// It is only meaningful for a valid name.
func (l Layer) TypeName() string {
	if l.Name == "" {
		return ""
	}
	return strings.ToUpper(l.Name[:1]) + l.Name[1:]
}

// layerNameProblem describes what is wrong with a layer name, or returns "".
func layerNameProblem(name string) string {
	switch {
	case name == "":
		return "name is required"
	case !layerNameRE.MatchString(name):
		return fmt.Sprintf("name %s: must start with an ASCII letter and contain only letters, digits and underscores",
			quoteShort(name))
	case len(name) > maxNameLength:
		return fmt.Sprintf("name %s: is %d characters long, at most %d are allowed",
			quoteShort(name), len(name), maxNameLength)
	}
	return ""
}

// ValidPackageName reports whether name can be the generated package's name.
// The error starts with `package "name": `.
func ValidPackageName(name string) error {
	switch {
	case !packageNameRE.MatchString(name):
		return fmt.Errorf("package %s: must be a lower-case Go identifier (only a-z, 0-9 and _, not starting with a digit)",
			quoteShort(name))
	case name == "_":
		return fmt.Errorf(`package "_": the blank identifier cannot name a package`)
	case token.IsKeyword(name):
		return fmt.Errorf("package %q: must not be a Go keyword", name)
	case name == "main":
		return fmt.Errorf(`package "main": generated kernels are a library, the package cannot be "main"`)
	}
	return nil
}
