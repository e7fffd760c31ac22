#ifndef CONVGEN_BENCH_WRAP_ONEDNN_H
#define CONVGEN_BENCH_WRAP_ONEDNN_H

#include "shape.h"

struct onednn_conv;

// onednn_conv_create builds a direct forward-inference convolution on the
// CPU engine, reorders the OIHW weights into the layout the primitive chose
// and allocates src and dst (NHWC). oihw is only read during the call.
int onednn_conv_create(const struct conv_shape *s, const float *oihw,
		struct onednn_conv **out, char *err, size_t errlen);
// onednn_conv_run executes the primitive once and waits for it.
int onednn_conv_run(struct onednn_conv *c, char *err, size_t errlen);
float *onednn_conv_src(struct onednn_conv *c);
float *onednn_conv_dst(struct onednn_conv *c);
const char *onednn_conv_impl(struct onednn_conv *c);
void onednn_conv_destroy(struct onednn_conv *c);
// onednn_isa names the instruction set oneDNN's JIT kernels target here.
const char *onednn_isa(void);
// onednn_threads is the OpenMP thread count oneDNN sees on the calling
// thread after the wrappers pinned it to one.
int onednn_threads(void);

#endif
