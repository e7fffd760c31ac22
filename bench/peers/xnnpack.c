// XNNPACK (2022) wrapper: one f32 NHWC convolution operator, set up once on
// buffers it owns, run with a NULL threadpool (on the calling thread only).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <xnnpack.h>

#include "wrap_xnnpack.h"

struct xnnpack_conv {
	xnn_operator_t op;
	float *src, *dst;
};

static const char *status_name(enum xnn_status s) {
	switch (s) {
	case xnn_status_success: return "success";
	case xnn_status_uninitialized: return "uninitialized";
	case xnn_status_invalid_parameter: return "invalid_parameter";
	case xnn_status_invalid_state: return "invalid_state";
	case xnn_status_unsupported_parameter: return "unsupported_parameter";
	case xnn_status_unsupported_hardware: return "unsupported_hardware";
	case xnn_status_out_of_memory: return "out_of_memory";
	default: return "unknown status";
	}
}

void xnnpack_conv_destroy(struct xnnpack_conv *c) {
	if (c == NULL) return;
	if (c->op) xnn_delete_operator(c->op);
	free(c->src);
	free(c->dst);
	free(c);
}

int xnnpack_conv_create(const struct conv_shape *s, const float *oihw,
		struct xnnpack_conv **out, char *err, size_t errlen) {
	*out = NULL;
	// xnn_initialize is idempotent (pthread_once inside) and never undone:
	// deinitializing while another operator lives would be wrong.
	enum xnn_status st = xnn_initialize(NULL);
	if (st != xnn_status_success) {
		snprintf(err, errlen, "xnn_initialize: %s", status_name(st));
		return st == xnn_status_unsupported_hardware ? PEER_UNSUPPORTED : PEER_ERROR;
	}
	struct xnnpack_conv *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return PEER_ERROR;
	}
	size_t cin_g = s->cin / s->groups, cout_g = s->cout / s->groups;
	size_t taps = (size_t)s->kh * s->kw;
	// XNNPACK wants weights as [groups][cout/groups][kh][kw][cin/groups]
	// (GOHWI): per output channel, move the input channel innermost.
	float *gohwi = malloc(sizeof(float) * s->cout * cin_g * taps);
	// XNNPACK may read up to XNN_EXTRA_BYTES past the end of its input.
	c->src = malloc(sizeof(float) * s->n * s->h * s->w * s->cin + XNN_EXTRA_BYTES);
	c->dst = malloc(sizeof(float) * s->n * s->oh * s->ow * s->cout);
	if (gohwi == NULL || c->src == NULL || c->dst == NULL) {
		snprintf(err, errlen, "out of memory");
		free(gohwi);
		xnnpack_conv_destroy(c);
		return PEER_ERROR;
	}
	for (int o = 0; o < s->cout; o++)
		for (size_t i = 0; i < cin_g; i++)
			for (size_t t = 0; t < taps; t++)
				gohwi[(o * taps + t) * cin_g + i] = oihw[(o * cin_g + i) * taps + t];
	// No bias (NULL) and an unbounded clamp: the plain convolution.
	st = xnn_create_convolution2d_nhwc_f32(
		s->pad_top, s->pad_right, s->pad_bottom, s->pad_left,
		s->kh, s->kw, s->stride_h, s->stride_w, s->dilation_h, s->dilation_w,
		s->groups, cin_g, cout_g, s->cin, s->cout,
		gohwi, NULL, -INFINITY, INFINITY, 0, &c->op);
	free(gohwi); // packed by XNNPACK during create
	if (st != xnn_status_success) {
		snprintf(err, errlen, "xnn_create_convolution2d_nhwc_f32: %s", status_name(st));
		xnnpack_conv_destroy(c);
		return st == xnn_status_unsupported_parameter || st == xnn_status_unsupported_hardware
			? PEER_UNSUPPORTED : PEER_ERROR;
	}
	st = xnn_setup_convolution2d_nhwc_f32(c->op, s->n, s->h, s->w, c->src, c->dst, NULL);
	if (st != xnn_status_success) {
		snprintf(err, errlen, "xnn_setup_convolution2d_nhwc_f32: %s", status_name(st));
		xnnpack_conv_destroy(c);
		return PEER_ERROR;
	}
	*out = c;
	return PEER_OK;
}

int xnnpack_conv_run(struct xnnpack_conv *c, char *err, size_t errlen) {
	enum xnn_status st = xnn_run_operator(c->op, NULL);
	if (st != xnn_status_success) {
		snprintf(err, errlen, "xnn_run_operator: %s", status_name(st));
		return PEER_ERROR;
	}
	return PEER_OK;
}

float *xnnpack_conv_src(struct xnnpack_conv *c) { return c->src; }
float *xnnpack_conv_dst(struct xnnpack_conv *c) { return c->dst; }
