/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_K8S_DEC_H
#define LB_K8S_DEC_H

/* Shared by the decoder's files (lb_k8s_json.c, lb_k8s_decode*.c) only. */
#include <json-c/json.h>

#include "lb_k8s_priv.h"

#define LB_K8S_MAX_ITEMS	100000	/* elements of any one array we accept */
#define LB_K8S_MAX_STR		65536	/* length of any one string we keep */

/* One decode: the object being filled and where the first error goes. */
struct lb_k8s_dec {
	struct lb_k8s_obj *o;
	char *err;
	size_t errlen;
	char what[LB_K8S_KEY_MAX + 32];	/* "Service default/web" */
};

/* "WHAT: PATH: message" into the error buffer; returns -EINVAL. */
int lb_k8s_dec_bad(struct lb_k8s_dec *d, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int lb_k8s_dec_nomem(struct lb_k8s_dec *d);	/* "WHAT: out of memory", -ENOMEM */
const char *lb_k8s_dec_jtype(const struct json_object *v);	/* "a string", ... */
/* "parent.key" into buf. */
const char *lb_k8s_dec_sub(char *buf, size_t n, const char *parent, const char *key);
/* Member key of parent with type t; *out NULL when absent or null. */
int lb_k8s_dec_get(struct lb_k8s_dec *d, const struct json_object *parent, const char *key,
	json_type t, const char *path, struct json_object **out);
const char *lb_k8s_dec_keep_str(struct lb_k8s_dec *d, const char *s);
/* A string value (v is a json string) copied into the object. */
int lb_k8s_dec_str_val(struct lb_k8s_dec *d, const struct json_object *v, const char *path,
	size_t max, const char **out);
int lb_k8s_dec_get_str(struct lb_k8s_dec *d, const struct json_object *parent, const char *key,
	const char *path, bool required, size_t max, const char **out);
/* An integer in lo..hi; *present says whether it was there. */
int lb_k8s_dec_get_int(struct lb_k8s_dec *d, const struct json_object *parent, const char *key,
	const char *path, int64_t lo, int64_t hi, bool *present, int64_t *out);
/* -1 absent, 0 false, 1 true. */
int lb_k8s_dec_get_tri(struct lb_k8s_dec *d, const struct json_object *parent, const char *key,
	const char *path, int8_t *out);
void *lb_k8s_dec_alloc(struct lb_k8s_dec *d, size_t n);	/* zeroed, in the object */
/* 1..max of [a-z0-9.-], starting with a letter or digit. */
bool lb_k8s_dec_valid_name(const char *s, size_t max);
int lb_k8s_dec_proto(const char *p);	/* LB_PROTO_TCP, LB_PROTO_UDP or 0 */

/* The kinds (lb_k8s_decode_obj.c): fill d->o after its metadata. */
int lb_k8s_dec_service(struct lb_k8s_dec *d, const struct json_object *root);
int lb_k8s_dec_slice(struct lb_k8s_dec *d, const struct json_object *root);
int lb_k8s_dec_node(struct lb_k8s_dec *d, const struct json_object *root);

/* Short names for the decoder's files. */
#define bad		lb_k8s_dec_bad
#define nomem		lb_k8s_dec_nomem
#define jtype		lb_k8s_dec_jtype
#define sub		lb_k8s_dec_sub
#define get		lb_k8s_dec_get
#define keep_str	lb_k8s_dec_keep_str
#define str_val		lb_k8s_dec_str_val
#define get_str		lb_k8s_dec_get_str
#define get_int		lb_k8s_dec_get_int
#define get_tri		lb_k8s_dec_get_tri
#define alloc		lb_k8s_dec_alloc
#define valid_name	lb_k8s_dec_valid_name
#define proto_num	lb_k8s_dec_proto

#endif /* LB_K8S_DEC_H */
