/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * json-c objects -> struct lb_k8s_obj: metadata here, the kinds in
 * lb_k8s_decode_obj.c, the typed getters in lb_k8s_json.c. Nothing here
 * trusts the input: lengths are bounded, every array element is
 * type-checked, integers are range-checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_k8s_dec.h"

/* --- metadata --- */

static bool
keep_annotation(enum lb_k8s_kind kind, const char *k)
{
	if (kind != LB_K8S_SERVICE)
		return false;
	return strncmp(k, "lbd.io/", 7) == 0 || strncmp(k, "metallb.io/", 11) == 0 ||
		strncmp(k, "metallb.universe.tf/", 20) == 0 ||
		strcmp(k, LB_K8S_ANN_SOURCE_RANGES) == 0;
}

static bool
keep_label(enum lb_k8s_kind kind, const char *k)
{
	if (kind == LB_K8S_SLICE)
		return strcmp(k, LB_K8S_LABEL_SERVICE_NAME) == 0;
	if (kind == LB_K8S_NODE)
		return strcmp(k, LB_K8S_LABEL_EXCLUDE_LB) == 0;
	return false;
}

/* labels / annotations: an object of strings; keeps those keep() wants. */
static int
dec_map(struct lb_k8s_dec *d, const struct json_object *meta, const char *key, bool is_label,
	uint32_t *n_out, struct lb_k8s_kv **out)
{
	struct json_object *m;
	struct json_object_iterator it, end;
	uint32_t n = 0, cap;
	char p[160];
	int rc;

	rc = get(d, meta, key, json_type_object, "metadata", &m);
	if (rc != 0 || m == NULL)
		return rc;
	cap = (uint32_t)json_object_object_length(m);
	if (cap > LB_K8S_MAX_ITEMS)
		return bad(d, sub(p, sizeof(p), "metadata", key), "more than %d entries",
			LB_K8S_MAX_ITEMS);
	it = json_object_iter_begin(m);
	end = json_object_iter_end(m);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *k = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);
		bool keep = is_label ? keep_label(d->o->kind, k) : keep_annotation(d->o->kind, k);

		snprintf(p, sizeof(p), "metadata.%s[%.80s]", key, k);
		if (!json_object_is_type(v, json_type_string))
			return bad(d, p, "expected a string, got %s", jtype(v));
		if (!keep)
			continue;
		if (*out == NULL && (*out = alloc(d, sizeof(**out) * cap)) == NULL)
			return nomem(d);
		(*out)[n].key = keep_str(d, k);
		if ((*out)[n].key == NULL)
			return nomem(d);
		rc = str_val(d, v, p, LB_K8S_MAX_STR, &(*out)[n].value);
		if (rc != 0)
			return rc;
		n++;
	}
	*n_out = n;
	return 0;
}

static int
dec_meta(struct lb_k8s_dec *d, const struct json_object *root, bool namespaced)
{
	struct lb_k8s_meta *m = &d->o->meta;
	struct json_object *meta, *v, *fins;
	const char *s;
	uint32_t i, n;
	char p[64];
	int rc;

	if (!json_object_is_type(root, json_type_object))
		return bad(d, "object", "expected an object, got %s", jtype(root));
	rc = get(d, root, "metadata", json_type_object, "", &meta);
	if (rc != 0)
		return rc;
	if (meta == NULL)
		return bad(d, "metadata", "missing");
	rc = get_str(d, meta, "name", "metadata", true, LB_K8S_NAME_MAX, &m->name);
	if (rc != 0)
		return rc;
	if (!valid_name(m->name, LB_K8S_NAME_MAX))
		return bad(d, "metadata.name", "\"%s\" is not a valid name", m->name);
	if (namespaced) {
		rc = get_str(d, meta, "namespace", "metadata", true, LB_K8S_NS_MAX, &m->ns);
		if (rc != 0)
			return rc;
		if (!valid_name(m->ns, LB_K8S_NS_MAX) || strchr(m->ns, '.') != NULL)
			return bad(d, "metadata.namespace", "\"%s\" is not a valid namespace",
				m->ns);
	} else {
		m->ns = "";
	}
	snprintf(d->what, sizeof(d->what), "%s %s%s%s", lb_k8s_kind_str(d->o->kind), m->ns,
		*m->ns != '\0' ? "/" : "", m->name);
	rc = get_str(d, meta, "uid", "metadata", false, 128, &m->uid);
	if (rc == 0)
		rc = get_str(d, meta, "resourceVersion", "metadata", false, 128, &m->rv);
	if (rc == 0)
		rc = get_str(d, meta, "deletionTimestamp", "metadata", false, 64, &s);
	if (rc != 0)
		return rc;
	if (m->uid == NULL)
		m->uid = "";
	if (m->rv == NULL)
		m->rv = "";
	m->deleting = s != NULL;
	rc = get(d, meta, "finalizers", json_type_array, "metadata", &fins);
	if (rc != 0)
		return rc;
	n = fins != NULL ? (uint32_t)json_object_array_length(fins) : 0;
	if (n > 0 && (m->finalizers = alloc(d, sizeof(*m->finalizers) * n)) == NULL)
		return nomem(d);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(fins, i);
		snprintf(p, sizeof(p), "metadata.finalizers[%u]", i);
		if (!json_object_is_type(v, json_type_string))
			return bad(d, p, "expected a string, got %s", jtype(v));
		rc = str_val(d, v, p, 316, &m->finalizers[i]);
		if (rc != 0)
			return rc;
	}
	m->n_finalizers = n;
	rc = dec_map(d, meta, "labels", true, &m->n_labels, &m->labels);
	if (rc == 0)
		rc = dec_map(d, meta, "annotations", false, &m->n_annotations, &m->annotations);
	return rc;
}

/* --- entry points --- */

const char *
lb_k8s_kind_str(enum lb_k8s_kind k)
{
	switch (k) {
	case LB_K8S_SERVICE:
		return "Service";
	case LB_K8S_SLICE:
		return "EndpointSlice";
	case LB_K8S_NODE:
		return "Node";
	default:
		return "object";
	}
}

void
lb_k8s_obj_free(struct lb_k8s_obj *o)
{
	if (o == NULL)
		return;
	lb_k8s_arena_free(o->mem);
	free(o);
}

struct lb_k8s_obj *
lb_k8s_decode(enum lb_k8s_kind kind, const struct json_object *obj, char *err, size_t errlen)
{
	struct lb_k8s_dec d = { .err = err, .errlen = errlen };
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	snprintf(d.what, sizeof(d.what), "%s", lb_k8s_kind_str(kind));
	if ((unsigned)kind >= LB_K8S_NKINDS) {
		lb_k8s_fail(err, errlen, -EINVAL, "unknown kind %d", (int)kind);
		return NULL;
	}
	if (obj == NULL) {
		lb_k8s_fail(err, errlen, -EINVAL, "%s: no object", d.what);
		return NULL;
	}
	d.o = calloc(1, sizeof(*d.o));
	if (d.o == NULL) {
		nomem(&d);
		return NULL;
	}
	d.o->kind = (uint8_t)kind;
	rc = dec_meta(&d, obj, kind != LB_K8S_NODE);
	if (rc == 0) {
		switch (kind) {
		case LB_K8S_SERVICE:
			rc = lb_k8s_dec_service(&d, obj);
			break;
		case LB_K8S_SLICE:
			rc = lb_k8s_dec_slice(&d, obj);
			break;
		default:
			rc = lb_k8s_dec_node(&d, obj);
			break;
		}
	}
	if (rc != 0) {
		lb_k8s_obj_free(d.o);
		return NULL;
	}
	return d.o;
}

int
lb_k8s_decode_key(enum lb_k8s_kind kind, const struct json_object *obj, char *ns, size_t nslen,
	char *name, size_t namelen, char *err, size_t errlen)
{
	struct json_object *meta = NULL, *v = NULL;
	const char *s;

	if (obj == NULL || !json_object_object_get_ex(obj, "metadata", &meta) ||
	    !json_object_is_type(meta, json_type_object))
		return lb_k8s_fail(err, errlen, -EINVAL, "%s: no metadata", lb_k8s_kind_str(kind));
	if (!json_object_object_get_ex(meta, "name", &v) || !json_object_is_type(v, json_type_string) ||
	    !valid_name(s = json_object_get_string(v), LB_K8S_NAME_MAX) ||
	    strlen(s) >= namelen)
		return lb_k8s_fail(err, errlen, -EINVAL, "%s: no valid metadata.name",
			lb_k8s_kind_str(kind));
	snprintf(name, namelen, "%s", s);
	if (kind == LB_K8S_NODE) {
		if (nslen > 0)
			ns[0] = '\0';
		return 0;
	}
	if (!json_object_object_get_ex(meta, "namespace", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !valid_name(s = json_object_get_string(v), LB_K8S_NS_MAX) || strlen(s) >= nslen)
		return lb_k8s_fail(err, errlen, -EINVAL, "%s %s: no valid metadata.namespace",
			lb_k8s_kind_str(kind), name);
	snprintf(ns, nslen, "%s", s);
	return 0;
}

static const char *
kv_get(const struct lb_k8s_kv *kv, uint32_t n, const char *key)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

const char *
lb_k8s_annotation(const struct lb_k8s_obj *o, const char *key)
{
	return kv_get(o->meta.annotations, o->meta.n_annotations, key);
}

const char *
lb_k8s_label(const struct lb_k8s_obj *o, const char *key)
{
	return kv_get(o->meta.labels, o->meta.n_labels, key);
}

bool
lb_k8s_has_finalizer(const struct lb_k8s_obj *o, const char *finalizer)
{
	uint32_t i;

	for (i = 0; i < o->meta.n_finalizers; i++)
		if (strcmp(o->meta.finalizers[i], finalizer) == 0)
			return true;
	return false;
}

bool
lb_k8s_node_eligible(const struct lb_k8s_node *n, const struct lb_k8s_meta *m)
{
	return n->ready && !n->excluded && !n->to_be_deleted && !m->deleting;
}
