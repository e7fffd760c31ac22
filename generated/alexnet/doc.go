package alexnet

//go:generate go tool convgen -spec spec.json -pkg alexnet -out .
