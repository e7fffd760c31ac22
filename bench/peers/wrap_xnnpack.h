#ifndef CONVGEN_BENCH_WRAP_XNNPACK_H
#define CONVGEN_BENCH_WRAP_XNNPACK_H

#include "shape.h"

struct xnnpack_conv;

// xnnpack_conv_create makes an f32 NHWC convolution operator from OIHW
// weights (transposed to XNNPACK's GOHWI, which it packs at create time),
// allocates src and dst and sets the operator up on them.
int xnnpack_conv_create(const struct conv_shape *s, const float *oihw,
		struct xnnpack_conv **out, char *err, size_t errlen);
// xnnpack_conv_run runs the operator once on the calling thread.
int xnnpack_conv_run(struct xnnpack_conv *c, char *err, size_t errlen);
float *xnnpack_conv_src(struct xnnpack_conv *c);
float *xnnpack_conv_dst(struct xnnpack_conv *c);
void xnnpack_conv_destroy(struct xnnpack_conv *c);

#endif
