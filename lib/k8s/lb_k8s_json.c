/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Typed, bounded reading of json-c values for the decoders: every getter
 * checks presence and type, names the field in its message, and treats
 * JSON null as absent (the API server omits empty optional fields, but
 * patches and other clients write null).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lb_k8s_dec.h"

int
lb_k8s_dec_bad(struct lb_k8s_dec *d, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (d->err == NULL || d->errlen == 0)
		return -EINVAL;
	n = snprintf(d->err, d->errlen, "%s: %s: ", d->what, path);
	if (n < 0 || (size_t)n >= d->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int
lb_k8s_dec_nomem(struct lb_k8s_dec *d)
{
	lb_k8s_fail(d->err, d->errlen, -ENOMEM, "%s: out of memory", d->what);
	return -ENOMEM;
}

const char *
lb_k8s_dec_jtype(const struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a number with a fraction";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "something unknown";
}

static const char *
tname(json_type t)
{
	switch (t) {
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	default:
		return "?";
	}
}

/* "parent.key" into buf. */
const char *
lb_k8s_dec_sub(char *buf, size_t n, const char *parent, const char *key)
{
	snprintf(buf, n, "%s%s%s", parent, *parent != '\0' ? "." : "", key);
	return buf;
}

/* Member key of object parent with type t; *out NULL when absent or null. */
int
lb_k8s_dec_get(struct lb_k8s_dec *d, const struct json_object *parent, const char *key, json_type t,
	const char *path, struct json_object **out)
{
	struct json_object *v = NULL;
	char p[160];

	*out = NULL;
	if (parent == NULL || !json_object_object_get_ex(parent, key, &v) || v == NULL ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, t))
		return bad(d, sub(p, sizeof(p), path, key), "expected %s, got %s", tname(t),
			jtype(v));
	if (t == json_type_array && json_object_array_length(v) > LB_K8S_MAX_ITEMS)
		return bad(d, sub(p, sizeof(p), path, key), "more than %d elements",
			LB_K8S_MAX_ITEMS);
	*out = v;
	return 0;
}

const char *
lb_k8s_dec_keep_str(struct lb_k8s_dec *d, const char *s)
{
	return lb_k8s_arena_strdup(&d->o->mem, s);
}

/* A string value (v is a json string); copied into the object. */
int
lb_k8s_dec_str_val(struct lb_k8s_dec *d, const struct json_object *v, const char *path, size_t max,
	const char **out)
{
	const char *s = json_object_get_string((struct json_object *)v);
	size_t len = (size_t)json_object_get_string_len(v);

	if (s == NULL)
		s = "";
	if (len > max)
		return bad(d, path, "longer than %zu characters", max);
	if (strlen(s) != len)
		return bad(d, path, "contains a NUL character");
	*out = keep_str(d, s);
	return *out != NULL ? 0 : nomem(d);
}

int
lb_k8s_dec_get_str(struct lb_k8s_dec *d, const struct json_object *parent, const char *key,
	const char *path, 	bool required, size_t max, const char **out)
{
	struct json_object *v;
	char p[160];
	int rc;

	*out = NULL;
	rc = get(d, parent, key, json_type_string, path, &v);
	if (rc != 0)
		return rc;
	sub(p, sizeof(p), path, key);
	if (v == NULL)
		return required ? bad(d, p, "missing") : 0;
	return str_val(d, v, p, max, out);
}

/* An integer in lo..hi; *present says whether it was there. */
int
lb_k8s_dec_get_int(struct lb_k8s_dec *d, const struct json_object *parent, const char *key,
	const char *path, 	int64_t lo, int64_t hi, bool *present, int64_t *out)
{
	struct json_object *v;
	char p[160];
	int64_t x;
	int rc;

	*present = false;
	rc = get(d, parent, key, json_type_int, path, &v);
	if (rc != 0 || v == NULL)
		return rc;
	x = json_object_get_int64(v);
	if (x < lo || x > hi)
		return bad(d, sub(p, sizeof(p), path, key), "%lld is out of range (%lld..%lld)",
			(long long)x, (long long)lo, (long long)hi);
	*present = true;
	*out = x;
	return 0;
}

/* -1 absent, 0 false, 1 true. */
int
lb_k8s_dec_get_tri(struct lb_k8s_dec *d, const struct json_object *parent, const char *key,
	const char *path, 	int8_t *out)
{
	struct json_object *v;
	int rc;

	*out = -1;
	rc = get(d, parent, key, json_type_boolean, path, &v);
	if (rc == 0 && v != NULL)
		*out = json_object_get_boolean(v) ? 1 : 0;
	return rc;
}

void *
lb_k8s_dec_alloc(struct lb_k8s_dec *d, size_t n)
{
	return lb_k8s_arena_alloc(&d->o->mem, n);
}

/* DNS-label-like names: 1..max of [a-z0-9.-], starting with a letter or
 * digit. Anything else (a '/', upper case, spaces) is not a Kubernetes name,
 * and lbd uses '/' as its separator. */
bool
lb_k8s_dec_valid_name(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      ((c == '-' || c == '.') && n > 0)))
			return false;
	}
	return n >= 1 && n <= max;
}

int
lb_k8s_dec_proto(const char *p)
{
	if (strcmp(p, "TCP") == 0)
		return LB_PROTO_TCP;
	if (strcmp(p, "UDP") == 0)
		return LB_PROTO_UDP;
	return 0;
}
