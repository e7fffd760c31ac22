package mobilenetv1

//go:generate go tool convgen -spec spec.json -pkg mobilenetv1 -out .
