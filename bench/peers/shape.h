// One convolution for the peer wrappers: NHWC activations, OIHW weights,
// PyTorch groups, no bias, no activation. Filled in by the Go side.
#ifndef CONVGEN_BENCH_SHAPE_H
#define CONVGEN_BENCH_SHAPE_H

#include <stddef.h>

struct conv_shape {
	int n, h, w, oh, ow;
	int cin, cout, groups;
	int kh, kw;
	int stride_h, stride_w;
	int dilation_h, dilation_w;
	int pad_top, pad_left, pad_bottom, pad_right;
};

// Status of the create functions.
enum {
	PEER_OK = 0,
	PEER_ERROR = 1,
	PEER_UNSUPPORTED = 2, // the library has no implementation for this shape
};

#endif
