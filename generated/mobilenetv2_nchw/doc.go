package mobilenetv2nchw

//go:generate go tool convgen -spec spec.json -pkg mobilenetv2nchw -out .
