package mobilenetv2

//go:generate go tool convgen -spec spec.json -pkg mobilenetv2 -out .
