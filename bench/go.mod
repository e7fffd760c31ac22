module github.com/convgen/convgen/bench

go 1.26.8

require (
	github.com/convgen/convgen v0.0.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/dave/jennifer v1.7.1 // indirect
	github.com/mmcloughlin/avo v0.6.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/convgen/convgen => ../

tool github.com/convgen/convgen/cmd/convgen
