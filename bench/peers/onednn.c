// oneDNN 2.6 wrapper: one direct convolution primitive with its memories.
// Debian's libdnnl is built with OpenMP (DNNL_CPU_RUNTIME=OMP) and 2.6 has no
// API for a thread count, so every entry point sets the OpenMP thread count
// of the calling thread to 1: Go may run each cgo call on another OS thread,
// and in libgomp omp_set_num_threads only affects the calling thread.
//
// The primitive's scratchpad is its own (dnnl_scratchpad_mode_user): in the
// default "library" mode oneDNN 2.6 hands CPU primitives a global
// scratchpad that is thread_local, sized and allocated on the thread that
// created the primitive, so a primitive run from another OS thread (any cgo
// call may be) uses that thread's buffer: NULL or too small. The AVX2 run's
// gemm-based row (im2col into the scratchpad) crashed that way, SIGSEGV at
// address 0 in onednn_conv_run, in 2 of 15 runs, and every time when
// TestOneDNNAcrossThreads runs it on another thread than its creator's.
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>

#include "wrap_onednn.h"

struct onednn_conv {
	dnnl_engine_t engine;
	dnnl_stream_t stream;
	dnnl_primitive_t prim;
	dnnl_memory_t src, wei, dst;
	dnnl_memory_t scratch; // the primitive's scratchpad (user mode), maybe of size 0
	char impl[128];
};

static const char *status_name(dnnl_status_t s) {
	switch (s) {
	case dnnl_success: return "success";
	case dnnl_out_of_memory: return "out_of_memory";
	case dnnl_invalid_arguments: return "invalid_arguments";
	case dnnl_unimplemented: return "unimplemented";
	case dnnl_iterator_ends: return "iterator_ends";
	case dnnl_runtime_error: return "runtime_error";
	case dnnl_not_required: return "not_required";
	default: return "unknown status";
	}
}

// CHECK records the failing call in err and jumps to the cleanup.
#define CHECK(call) do { \
	dnnl_status_t st_ = (call); \
	if (st_ != dnnl_success) { \
		snprintf(err, errlen, "%s: %s", #call, status_name(st_)); \
		goto fail; \
	} \
} while (0)

void onednn_conv_destroy(struct onednn_conv *c) {
	if (c == NULL) return;
	if (c->prim) dnnl_primitive_destroy(c->prim);
	if (c->src) dnnl_memory_destroy(c->src);
	if (c->wei) dnnl_memory_destroy(c->wei);
	if (c->dst) dnnl_memory_destroy(c->dst);
	if (c->scratch) dnnl_memory_destroy(c->scratch);
	if (c->stream) dnnl_stream_destroy(c->stream);
	if (c->engine) dnnl_engine_destroy(c->engine);
	free(c);
}

// reorder_weights copies the user's OIHW (goihw) weights into c->wei, whose
// layout the convolution primitive chose.
static int reorder_weights(struct onednn_conv *c, const dnnl_memory_desc_t *user_md,
		const float *oihw, char *err, size_t errlen) {
	int rc = PEER_ERROR;
	dnnl_memory_t user = NULL;
	dnnl_primitive_desc_t rpd = NULL;
	dnnl_primitive_t reorder = NULL;
	const dnnl_memory_desc_t *wei_md = NULL;
	CHECK(dnnl_memory_get_memory_desc(c->wei, &wei_md));
	// oneDNN only reads the user memory; the handle is not kept past this call.
	CHECK(dnnl_memory_create(&user, user_md, c->engine, (void *)oihw));
	CHECK(dnnl_reorder_primitive_desc_create(&rpd, user_md, c->engine, wei_md, c->engine, NULL));
	CHECK(dnnl_primitive_create(&reorder, rpd));
	dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, c->wei}};
	CHECK(dnnl_primitive_execute(reorder, c->stream, 2, args));
	CHECK(dnnl_stream_wait(c->stream));
	rc = PEER_OK;
fail:
	if (reorder) dnnl_primitive_destroy(reorder);
	if (rpd) dnnl_primitive_desc_destroy(rpd);
	if (user) dnnl_memory_destroy(user);
	return rc;
}

int onednn_conv_create(const struct conv_shape *s, const float *oihw,
		struct onednn_conv **out, char *err, size_t errlen) {
	omp_set_num_threads(1);
	*out = NULL;
	int rc = PEER_ERROR;
	dnnl_primitive_desc_t pd = NULL;
	dnnl_primitive_attr_t attr = NULL;
	struct onednn_conv *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return PEER_ERROR;
	}
	CHECK(dnnl_engine_create(&c->engine, dnnl_cpu, 0));
	CHECK(dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags));

	// oneDNN's logical dims are always N,C,H,W; the nhwc tag sets the layout.
	dnnl_memory_desc_t src_md, dst_md, wei_any_md, wei_user_md;
	dnnl_dims_t src_dims = {s->n, s->cin, s->h, s->w};
	dnnl_dims_t dst_dims = {s->n, s->cout, s->oh, s->ow};
	CHECK(dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, dnnl_nhwc));
	CHECK(dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, dnnl_nhwc));
	if (s->groups > 1) {
		// Groups are a leading weights dim: G, O/G, I/G, KH, KW (goihw), which
		// is PyTorch's OIHW memory split by group. Depthwise is G=C, 1, 1.
		dnnl_dims_t wd = {s->groups, s->cout / s->groups, s->cin / s->groups, s->kh, s->kw};
		CHECK(dnnl_memory_desc_init_by_tag(&wei_any_md, 5, wd, dnnl_f32, dnnl_format_tag_any));
		CHECK(dnnl_memory_desc_init_by_tag(&wei_user_md, 5, wd, dnnl_f32, dnnl_goihw));
	} else {
		dnnl_dims_t wd = {s->cout, s->cin, s->kh, s->kw};
		CHECK(dnnl_memory_desc_init_by_tag(&wei_any_md, 4, wd, dnnl_f32, dnnl_format_tag_any));
		CHECK(dnnl_memory_desc_init_by_tag(&wei_user_md, 4, wd, dnnl_f32, dnnl_oihw));
	}
	dnnl_dims_t strides = {s->stride_h, s->stride_w};
	// oneDNN counts dilation from 0 (0 = dense kernel).
	dnnl_dims_t dilates = {s->dilation_h - 1, s->dilation_w - 1};
	dnnl_dims_t pad_l = {s->pad_top, s->pad_left};
	dnnl_dims_t pad_r = {s->pad_bottom, s->pad_right};
	dnnl_convolution_desc_t desc;
	CHECK(dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference,
			dnnl_convolution_direct, &src_md, &wei_any_md, NULL, &dst_md,
			strides, dilates, pad_l, pad_r));
	CHECK(dnnl_primitive_attr_create(&attr));
	CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
	dnnl_status_t st = dnnl_primitive_desc_create(&pd, &desc, attr, c->engine, NULL);
	if (st == dnnl_unimplemented) {
		snprintf(err, errlen, "no oneDNN implementation for this convolution");
		rc = PEER_UNSUPPORTED;
		goto fail;
	}
	CHECK(st);
	const char *impl = NULL;
	CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
	snprintf(c->impl, sizeof c->impl, "%s", impl ? impl : "?");

	// Memories in the primitive's own layouts: src and dst are nhwc as asked,
	// the weights whatever "any" became.
	CHECK(dnnl_memory_create(&c->src, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
			c->engine, DNNL_MEMORY_ALLOCATE));
	CHECK(dnnl_memory_create(&c->dst, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0),
			c->engine, DNNL_MEMORY_ALLOCATE));
	CHECK(dnnl_memory_create(&c->wei, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
			c->engine, DNNL_MEMORY_ALLOCATE));
	CHECK(dnnl_memory_create(&c->scratch, dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0),
			c->engine, DNNL_MEMORY_ALLOCATE));
	if (!dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), &src_md) ||
			!dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), &dst_md)) {
		snprintf(err, errlen, "primitive changed the nhwc src/dst layout");
		goto fail;
	}
	if (reorder_weights(c, &wei_user_md, oihw, err, errlen) != PEER_OK) goto fail;
	CHECK(dnnl_primitive_create(&c->prim, pd));
	dnnl_primitive_desc_destroy(pd);
	dnnl_primitive_attr_destroy(attr);
	*out = c;
	return PEER_OK;
fail:
	if (pd) dnnl_primitive_desc_destroy(pd);
	if (attr) dnnl_primitive_attr_destroy(attr);
	onednn_conv_destroy(c);
	return rc;
}

int onednn_conv_run(struct onednn_conv *c, char *err, size_t errlen) {
	omp_set_num_threads(1);
	dnnl_exec_arg_t args[4] = {
		{DNNL_ARG_SRC, c->src}, {DNNL_ARG_WEIGHTS, c->wei}, {DNNL_ARG_DST, c->dst},
		{DNNL_ARG_SCRATCHPAD, c->scratch}};
	CHECK(dnnl_primitive_execute(c->prim, c->stream, 4, args));
	CHECK(dnnl_stream_wait(c->stream));
	return PEER_OK;
fail:
	return PEER_ERROR;
}

static float *handle(dnnl_memory_t m) {
	void *p = NULL;
	if (dnnl_memory_get_data_handle(m, &p) != dnnl_success) return NULL;
	return p;
}

float *onednn_conv_src(struct onednn_conv *c) { return handle(c->src); }
float *onednn_conv_dst(struct onednn_conv *c) { return handle(c->dst); }
const char *onednn_conv_impl(struct onednn_conv *c) { return c->impl; }

const char *onednn_isa(void) {
	switch (dnnl_get_effective_cpu_isa()) {
	case dnnl_cpu_isa_sse41: return "sse41";
	case dnnl_cpu_isa_avx: return "avx";
	case dnnl_cpu_isa_avx2: return "avx2";
	case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
	case dnnl_cpu_isa_avx512_core: return "avx512_core";
	case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
	case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
	case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
	default: return "other";
	}
}

int onednn_threads(void) {
	omp_set_num_threads(1);
	return omp_get_max_threads();
}
