package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/convgen/convgen/gen"
)

// loadLayers gathers the layers of -spec, then -onnx, then every -layer into
// one spec, reporting every problem. model is nil without -onnx.
func loadLayers(specPath, onnxPath string, inline []string) (spec *gen.Spec, model *gen.ONNXModel, err error) {
	if specPath == "" && onnxPath == "" && len(inline) == 0 {
		return nil, nil, errors.New("no layers: give -spec FILE, -onnx FILE or -layer")
	}
	spec = &gen.Spec{Source: "-layer"}
	if specPath != "" {
		data, err := os.ReadFile(specPath)
		if err != nil {
			return nil, nil, err
		}
		if spec, err = gen.ParseSpec(specPath, data); err != nil {
			return nil, nil, err
		}
	}
	if onnxPath != "" {
		data, err := os.ReadFile(onnxPath)
		if err != nil {
			return nil, nil, err
		}
		if model, err = gen.ReadONNX(onnxPath, data); err != nil {
			return nil, nil, err
		}
		if specPath == "" {
			spec.Source = onnxPath
		}
		spec.Layers = append(spec.Layers, model.Spec("").Layers...)
	}
	var errs []error
	for i, arg := range inline {
		l, err := gen.ParseInlineLayer(arg, i+1)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		spec.Layers = append(spec.Layers, l)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return spec, model, nil
}

// staged is a file written beside its destination under a temporary name,
// moved into place by commit. Staging every output first means that a
// directory that cannot be written is found before anything is replaced.
type staged struct{ tmp, path string }

func stage(path string, data []byte) (*staged, error) {
	// The rename at commit would fail on a directory after the package was
	// written: refuse it now, before anything is.
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, want a file name", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".convgen-*")
	if err != nil {
		return nil, err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return &staged{tmp: f.Name(), path: path}, nil
}

func (s *staged) commit() error { return os.Rename(s.tmp, s.path) }
func (s *staged) discard()      { os.Remove(s.tmp) }
