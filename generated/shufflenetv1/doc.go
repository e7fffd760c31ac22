package shufflenetv1

//go:generate go tool convgen -spec spec.json -pkg shufflenetv1 -out .
