package specsweep

import (
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"path"
	"sort"
	"strings"
)

// buildConfig is one way a generated package is compiled.
type buildConfig struct {
	name         string
	goarch       string
	purego       bool
	withTestCode bool
}

// buildConfigs: the assembly build, the purego build and another
// architecture, each with the package's tests (go test and go vet compile
// them together).
var buildConfigs = []buildConfig{
	{"linux/amd64", "amd64", false, true},
	{"linux/amd64 -tags purego", "amd64", true, true},
	{"linux/arm64", "arm64", false, true},
}

func (b buildConfig) has(tag string) bool {
	switch tag {
	case "linux", "unix", "gc", b.goarch:
		return true
	case "purego":
		return b.purego
	}
	return strings.HasPrefix(tag, "go1.")
}

// included reports whether file (name and its parsed header) is compiled in b.
func (b buildConfig) included(name string, f *ast.File) bool {
	base := strings.TrimSuffix(path.Base(name), ".go")
	if strings.HasSuffix(base, "_test") {
		if !b.withTestCode {
			return false
		}
		base = strings.TrimSuffix(base, "_test")
	}
	// GOOS/GOARCH file name suffixes.
	parts := strings.Split(base, "_")
	for _, arch := range []string{"amd64", "arm64", "386", "arm", "riscv64", "ppc64le", "s390x", "wasm", "loong64", "mips64"} {
		if len(parts) > 1 && parts[len(parts)-1] == arch && arch != b.goarch {
			return false
		}
	}
	for _, group := range f.Comments {
		if group.Pos() >= f.Package {
			break
		}
		for _, c := range group.List {
			if constraint.IsGoBuild(c.Text) {
				expr, err := constraint.Parse(c.Text)
				if err == nil && !expr.Eval(b.has) {
					return false
				}
			}
		}
	}
	return true
}

// DuplicateDecls parses the Go files of one generated package (name →
// contents) and reports every package-level identifier declared twice, and
// every file's import name that a package-level declaration reuses, in any
// of the builds the package has (amd64, amd64 with -tags purego, arm64,
// each with its tests): what the compiler would reject as "redeclared in
// this block". A file that does not parse is reported too. It type-checks
// nothing else, so it is fast enough for a fuzz target.
func DuplicateDecls(files map[string][]byte) []string {
	fset := token.NewFileSet()
	parsed := map[string]*ast.File{}
	var problems []string
	var names []string
	for name, src := range files {
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s does not parse: %v", name, err))
			continue
		}
		parsed[name] = f
		names = append(names, name)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for _, b := range buildConfigs {
		where := map[string]string{} // identifier → file that declares it
		imports := map[string]string{}
		report := func(msg string) {
			if !seen[msg] {
				seen[msg] = true
				problems = append(problems, msg)
			}
		}
		for _, name := range names {
			f := parsed[name]
			if !b.included(name, f) {
				continue
			}
			for _, id := range topLevelNames(f) {
				if other, dup := where[id]; dup {
					report(fmt.Sprintf("%s: %s is declared in %s and again in %s", b.name, id, other, name))
					continue
				}
				where[id] = name
			}
			for _, imp := range f.Imports {
				local := strings.Trim(imp.Path.Value, `"`)
				local = local[strings.LastIndex(local, "/")+1:]
				if imp.Name != nil {
					local = imp.Name.Name
				}
				if local != "_" && local != "." {
					imports[local] = name
				}
			}
		}
		for id, file := range imports {
			if other, clash := where[id]; clash {
				report(fmt.Sprintf("%s: %s is imported in %s and declared in %s", b.name, id, file, other))
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// topLevelNames lists the package-level names a file declares; methods as
// Type.Method.
func topLevelNames(f *ast.File) []string {
	var ids []string
	add := func(id *ast.Ident) {
		if id != nil && id.Name != "_" {
			ids = append(ids, id.Name)
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				if d.Name.Name != "init" {
					add(d.Name)
				}
				continue
			}
			if len(d.Recv.List) == 1 {
				t := d.Recv.List[0].Type
				if s, ok := t.(*ast.StarExpr); ok {
					t = s.X
				}
				if id, ok := t.(*ast.Ident); ok {
					ids = append(ids, id.Name+"."+d.Name.Name)
				}
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					add(s.Name)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						add(n)
					}
				}
			}
		}
	}
	return ids
}
