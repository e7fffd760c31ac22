package resnext50

//go:generate go tool convgen -spec spec.json -pkg resnext50 -out .
