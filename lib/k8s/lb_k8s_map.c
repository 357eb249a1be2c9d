/* SPDX-License-Identifier: BSD-3-Clause */
/* Service + slices + nodes + VIPs -> model frontends (lb_k8s_map.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "lb_k8s_priv.h"
#include "lb_k8s_map.h"

#define NOTE_MAX	384

static void
notef(lb_k8s_note_fn note, void *ctx, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
notef(lb_k8s_note_fn note, void *ctx, const char *reason, const char *fmt, ...)
{
	char msg[NOTE_MAX];
	va_list ap;

	if (note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	note(ctx, reason, msg);
}

/* --- nodes --- */

struct nodes_acc {
	struct lb_k8s_nodes *out;
	uint32_t cap;
	bool nomem;
	uint32_t candidates;	/* not excluded, not going away, with an address */
	uint32_t ready;		/* of those, Ready */
};

static bool
candidate(const struct lb_k8s_obj *o)
{
	return !o->node.excluded && !o->node.to_be_deleted && !o->meta.deleting &&
		(o->node.internal[0].family != 0 || o->node.internal[1].family != 0);
}

static void
count_node(void *ctx, const struct lb_k8s_obj *o)
{
	struct nodes_acc *a = ctx;

	if (!candidate(o))
		return;
	a->candidates++;
	a->ready += o->node.ready;
}

static void
add_node(void *ctx, const struct lb_k8s_obj *o)
{
	struct nodes_acc *a = ctx;
	struct lb_k8s_node_ref *r;

	if (a->nomem || !candidate(o) || (!o->node.ready && !a->out->ready_ignored))
		return;
	if (a->out->n == a->cap) {
		uint32_t cap = a->cap ? a->cap * 2 : 16;
		struct lb_k8s_node_ref *v = realloc(a->out->v, sizeof(*v) * cap);

		if (v == NULL) {
			a->nomem = true;
			return;
		}
		a->out->v = v;
		a->cap = cap;
	}
	r = &a->out->v[a->out->n];
	r->name = strdup(o->meta.name);
	if (r->name == NULL) {
		a->nomem = true;
		return;
	}
	r->addr[0] = o->node.internal[0];
	r->addr[1] = o->node.internal[1];
	a->out->n++;
}

static int
node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lb_k8s_node_ref *)a)->name,
		((const struct lb_k8s_node_ref *)b)->name);
}

int
lb_k8s_nodes_build(const struct lb_k8s_store *st, struct lb_k8s_nodes *out)
{
	struct nodes_acc a = { .out = out };

	memset(out, 0, sizeof(*out));
	/* Not one node Ready: that is what the node controller reports when
	 * it stops hearing from kubelets (a control-plane partition), not
	 * that every node died. Withdrawing every node would be acting on
	 * missing data, so readiness is ignored until some node is Ready. */
	lb_k8s_store_foreach(st, LB_K8S_NODE, count_node, &a);
	out->ready_ignored = a.candidates > 0 && a.ready == 0;
	lb_k8s_store_foreach(st, LB_K8S_NODE, add_node, &a);
	if (a.nomem) {
		lb_k8s_nodes_fini(out);
		return -ENOMEM;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), node_cmp);
	return 0;
}

void
lb_k8s_nodes_fini(struct lb_k8s_nodes *n)
{
	uint32_t i;

	for (i = 0; i < n->n; i++)
		free((char *)n->v[i].name);
	free(n->v);
	memset(n, 0, sizeof(*n));
}

/* --- the IPAM request --- */

static const char *
first_ann(const struct lb_k8s_obj *svc, const char *a, const char *b, const char *c,
	const char **which)
{
	const char *keys[3] = { a, b, c }, *v;
	int i;

	for (i = 0; i < 3; i++) {
		v = lb_k8s_annotation(svc, keys[i]);
		if (v != NULL && *v != '\0') {
			*which = keys[i];
			return v;
		}
	}
	return NULL;
}

static bool
family_served(uint8_t f, const struct lb_k8s_map_conf *conf)
{
	return f == LB_AF_INET || (f == LB_AF_INET6 && conf->serve_ipv6);
}

/* Splits a comma-separated list into trimmed items; fn(item) for each. */
static int
each_item(const char *list, int (*fn)(void *ctx, const char *item), void *ctx)
{
	char item[LB_PREFIX_STRLEN + 16];
	const char *p = list;
	int rc;

	while (*p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n >= sizeof(item))
			n = sizeof(item) - 1;	/* too long to parse anyway */
		memcpy(item, p, n);
		item[n] = '\0';
		if (n > 0 && (rc = fn(ctx, item)) != 0)
			return rc;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

struct want_acc {
	struct lb_ipam_req *req;
	const struct lb_k8s_map_conf *conf;
	const char *bad;
	char bad_buf[64];
};

static int
add_want(void *ctx, const char *item)
{
	struct want_acc *w = ctx;
	struct lb_ip ip;

	if (lb_ip_parse(item, &ip) != 0) {
		snprintf(w->bad_buf, sizeof(w->bad_buf), "%s", item);
		w->bad = w->bad_buf;
		return -EINVAL;
	}
	if (!family_served(ip.family, w->conf))
		return 0;
	if (w->req->n_want >= LB_IPAM_MAX_FAMILIES) {
		snprintf(w->bad_buf, sizeof(w->bad_buf), "%s", item);
		w->bad = "more than two addresses";
		return -EINVAL;
	}
	w->req->want[w->req->n_want++] = ip;
	return 0;
}

int
lb_k8s_ipam_request(const struct lb_k8s_obj *svc, const struct lb_k8s_map_conf *conf,
	struct lb_ipam_req *req, struct lb_ipam_port *ports, lb_k8s_note_fn note, void *ctx,
	char *err, size_t errlen)
{
	const struct lb_k8s_svc *s = &svc->svc;
	struct want_acc w = { .req = req, .conf = conf };
	const char *v, *which = NULL;
	uint32_t i, k;
	bool skipped = false;

	memset(req, 0, sizeof(*req));
	for (i = 0; i < s->n_families; i++) {
		if (family_served(s->families[i], conf))
			req->families[req->n_families++] = s->families[i];
		else
			skipped = true;
	}
	if (req->n_families == 0)
		return lb_k8s_fail(err, errlen, -EAFNOSUPPORT, "IPv6 is not served yet (the "
			"Service's ipFamilies has no IPv4)");
	if (skipped)
		notef(note, ctx, LB_K8S_R_IPV6, "IPv6 is not served yet: only the Service's IPv4 "
			"family gets a load balancer address");

	v = first_ann(svc, LB_K8S_ANN_ADDRESSES, LB_K8S_ANN_METALLB_IPS,
		LB_K8S_ANN_METALLB_OLD_IPS, &which);
	if (v == NULL && s->lb_ip != NULL) {
		v = s->lb_ip;
		which = "spec.loadBalancerIP";
	}
	if (v != NULL && each_item(v, add_want, &w) != 0)
		return lb_k8s_fail(err, errlen, -EINVAL, "%s: \"%.64s\" is %s", which, w.bad_buf,
			w.bad == w.bad_buf ? "not an IP address" : w.bad);
	req->pool = first_ann(svc, LB_K8S_ANN_POOL, LB_K8S_ANN_METALLB_POOL,
		LB_K8S_ANN_METALLB_OLD_POOL, &which);
	req->sharing_key = first_ann(svc, LB_K8S_ANN_SHARING, LB_K8S_ANN_METALLB_SHARE,
		LB_K8S_ANN_METALLB_OLD_SHARE, &which);
	for (i = 0; i < s->n_ingress && req->n_prev < LB_IPAM_MAX_FAMILIES; i++) {
		const struct lb_ip *ip = &s->ingress[i].ip;
		bool dup = false;

		if (ip->family == 0 || !family_served(ip->family, conf))
			continue;
		for (k = 0; k < req->n_prev; k++)
			dup |= req->prev[k].family == ip->family;
		if (!dup)
			req->prev[req->n_prev++] = *ip;
	}
	for (i = 0; i < s->n_ports; i++) {
		if (s->ports[i].proto == 0)
			continue;
		ports[req->n_ports].proto = s->ports[i].proto;
		ports[req->n_ports].port = s->ports[i].port;
		req->n_ports++;
	}
	req->ports = ports;
	return 0;
}

/* --- source ranges --- */

static void
clear_host_bits(struct lb_ip *ip, unsigned len)
{
	uint8_t *b;
	unsigned n, i;

	if (ip->family == LB_AF_INET) {
		ip->v4 &= len == 0 ? 0 : htonl(0xffffffffu << (32 - len));
		return;
	}
	b = ip->v6;
	n = 16;
	for (i = 0; i < n; i++) {
		unsigned first = i * 8;

		if (first + 8 <= len)
			continue;
		b[i] &= first >= len ? 0 : (uint8_t)(0xff << (8 - (len - first)));
	}
}

/* "ADDR/LEN" or "ADDR"; host bits are cleared (the API server accepts
 * them, and so does kube-proxy). */
static int
parse_range(const char *s, struct lb_prefix *out)
{
	char a[LB_IP_STRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long len;
	char *end;

	if (n == 0 || n >= sizeof(a))
		return -EINVAL;
	memcpy(a, s, n);
	a[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (lb_ip_parse(a, &out->addr) != 0)
		return -EINVAL;
	if (slash == NULL) {
		len = out->addr.family == LB_AF_INET ? 32 : 128;
	} else {
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		len = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || len > (out->addr.family == LB_AF_INET ? 32u : 128u))
			return -EINVAL;
	}
	out->len = (uint8_t)len;
	clear_host_bits(&out->addr, out->len);
	return 0;
}

struct ranges {
	uint32_t n;
	uint32_t cap;
	struct lb_prefix *v;
	char bad[72];
};

static int
add_range(void *ctx, const char *item)
{
	struct ranges *r = ctx;

	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 8;
		struct lb_prefix *v = realloc(r->v, sizeof(*v) * cap);

		if (v == NULL)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	if (parse_range(item, &r->v[r->n]) != 0) {
		snprintf(r->bad, sizeof(r->bad), "%s", item);
		return -EINVAL;
	}
	r->n++;
	return 0;
}

static int
source_ranges(const struct lb_k8s_obj *svc, struct ranges *r, lb_k8s_note_fn note, void *ctx)
{
	const struct lb_k8s_svc *s = &svc->svc;
	const char *ann;
	uint32_t i;
	int rc = 0;

	if (s->n_src_ranges > 0) {
		for (i = 0; i < s->n_src_ranges && rc == 0; i++)
			rc = add_range(r, s->src_ranges[i]);
		if (rc == -EINVAL)
			notef(note, ctx, LB_K8S_R_BAD_SOURCE_RANGE, "spec.loadBalancerSourceRanges: "
				"\"%s\" is not a CIDR; the Service is not served until it is fixed",
				r->bad);
		return rc;
	}
	ann = lb_k8s_annotation(svc, LB_K8S_ANN_SOURCE_RANGES);
	if (ann == NULL)
		return 0;
	rc = each_item(ann, add_range, r);
	if (rc == -EINVAL)
		notef(note, ctx, LB_K8S_R_BAD_SOURCE_RANGE, "annotation %s: \"%s\" is not a CIDR; "
			"the Service is not served until it is fixed", LB_K8S_ANN_SOURCE_RANGES,
			r->bad);
	return rc;
}

/* --- targets --- */

enum ep_class {
	EP_READY = 0,
	EP_SERVING_TERMINATING = 1,
	EP_TERMINATING = 2,
};

struct tgt {
	struct lb_ip addr;
	uint16_t port;		/* network order */
	uint8_t cls;		/* enum ep_class */
	const char *node;
};

struct tgts {
	uint32_t n;
	uint32_t cap;
	struct tgt *v;
};

static int
tgt_add(struct tgts *t, const struct lb_ip *addr, uint16_t port_be, uint8_t cls, const char *node)
{
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 32;
		struct tgt *v = realloc(t->v, sizeof(*v) * cap);

		if (v == NULL)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n].addr = *addr;
	t->v[t->n].port = port_be;
	t->v[t->n].cls = cls;
	t->v[t->n].node = node;
	t->n++;
	return 0;
}

static int
tgt_cmp(const void *a, const void *b)
{
	const struct tgt *x = a, *y = b;
	int c = lb_ip_cmp(&x->addr, &y->addr);

	if (c != 0)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return (int)x->cls - (int)y->cls;
}

/* Sorts and keeps one entry per (address, port): the best class. */
static void
tgt_dedup(struct tgts *t)
{
	uint32_t i, k = 0;

	if (t->n < 2)
		return;
	qsort(t->v, t->n, sizeof(*t->v), tgt_cmp);
	for (i = 0; i < t->n; i++) {
		if (k > 0 && lb_ip_cmp(&t->v[k - 1].addr, &t->v[i].addr) == 0 &&
		    t->v[k - 1].port == t->v[i].port)
			continue;
		t->v[k++] = t->v[i];
	}
	t->n = k;
}

static const struct lb_k8s_ep_port *
slice_port(const struct lb_k8s_slice *sl, const struct lb_k8s_svc_port *sp)
{
	uint32_t i;

	for (i = 0; i < sl->n_ports; i++)
		if (strcmp(sl->ports[i].name, sp->name) == 0 &&
		    strcmp(sl->ports[i].protocol, sp->protocol) == 0 && sl->ports[i].port != 0)
			return &sl->ports[i];
	return NULL;
}

static int
endpoint_targets(const struct lb_k8s_map_in *in, const struct lb_k8s_svc_port *sp, uint8_t f,
	struct tgts *t)
{
	uint32_t s, e;
	int rc;

	for (s = 0; s < in->n_slices; s++) {
		const struct lb_k8s_slice *sl = &in->slices[s]->slice;
		const struct lb_k8s_ep_port *ep;

		if (sl->family != f || (ep = slice_port(sl, sp)) == NULL)
			continue;
		for (e = 0; e < sl->n_eps; e++) {
			const struct lb_k8s_ep *x = &sl->eps[e];
			bool term = x->terminating == 1;
			bool ready = x->ready != 0 && !term;
			bool serving = x->serving == -1 ? x->ready != 0 : x->serving == 1;
			uint8_t cls;

			if (ready)
				cls = EP_READY;
			else if (term && serving)
				cls = EP_SERVING_TERMINATING;
			else if (term)
				cls = EP_TERMINATING;
			else
				continue;
			rc = tgt_add(t, &x->addr, htons(ep->port), cls, x->node);
			if (rc != 0)
				return rc;
		}
	}
	tgt_dedup(t);
	return 0;
}

static int
node_targets(const struct lb_k8s_map_in *in, const struct lb_k8s_svc_port *sp, uint8_t f,
	struct tgts *t)
{
	uint32_t i;
	int rc;

	for (i = 0; in->nodes != NULL && i < in->nodes->n; i++) {
		const struct lb_ip *a = &in->nodes->v[i].addr[f == LB_AF_INET ? 0 : 1];

		if (a->family != f)
			continue;
		rc = tgt_add(t, a, htons(sp->node_port), EP_READY, in->nodes->v[i].name);
		if (rc != 0)
			return rc;
	}
	tgt_dedup(t);
	return 0;
}

/* --- frontends --- */

static size_t
slen(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

static struct lb_model_fe *
build_fe(const struct lb_k8s_map_in *in, const struct lb_k8s_svc_port *sp, const struct lb_ip *vip,
	uint8_t method, const struct tgts *t, const struct ranges *r)
{
	const struct lb_k8s_obj *o = in->svc;
	const struct lb_k8s_svc *s = &o->svc;
	char pname[16];
	const char *port = sp->name;
	struct lb_model_fe *fe;
	bool any_ready = false;
	size_t str = 0;
	uint32_t i;

	if (*port == '\0') {
		snprintf(pname, sizeof(pname), "%u", sp->port);
		port = pname;
	}
	str = slen(o->meta.ns) + slen(o->meta.name) + slen(o->meta.uid) + slen(port);
	for (i = 0; i < t->n; i++) {
		str += slen(t->v[i].node);
		any_ready |= t->v[i].cls == EP_READY;
	}
	fe = lb_model_fe_new(t->n, r->n, str);
	if (fe == NULL)
		return NULL;
	snprintf(fe->name, sizeof(fe->name), "%s/%s:%s%s", o->meta.ns, o->meta.name, port,
		vip->family == LB_AF_INET6 ? "/ipv6" : "");
	fe->origin_kind = LB_ORIGIN_K8S;
	snprintf(fe->origin, sizeof(fe->origin), "k8s %s/%s port %s", o->meta.ns, o->meta.name,
		port);
	fe->k8s_ns = lb_model_fe_strdup(fe, o->meta.ns);
	fe->k8s_name = lb_model_fe_strdup(fe, o->meta.name);
	fe->k8s_uid = lb_model_fe_strdup(fe, o->meta.uid);
	fe->k8s_port = lb_model_fe_strdup(fe, port);
	fe->vip = *vip;
	fe->proto = sp->proto;
	fe->port = htons(sp->port);
	fe->method = method;
	fe->affinity = s->affinity_client_ip ? LB_AFFINITY_CLIENT_IP : LB_AFFINITY_NONE;
	fe->affinity_timeout = s->affinity_client_ip ? s->affinity_timeout : 0;
	fe->maglev_size = in->conf->maglev_size;
	for (i = 0; i < r->n; i++)
		fe->src_ranges[i] = r->v[i];
	for (i = 0; i < t->n; i++) {
		struct lb_model_target *mt = &fe->targets[i];

		mt->addr = t->v[i].addr;
		mt->port = t->v[i].port;
		mt->weight = 1;
		/* Serving terminating endpoints take new flows only while no
		 * endpoint is ready (graceful termination, KEP-1669). */
		if (t->v[i].cls == EP_TERMINATING ||
		    (t->v[i].cls == EP_SERVING_TERMINATING && any_ready))
			mt->flags = LB_MT_TERMINATING;
		mt->node = lb_model_fe_strdup(fe, t->v[i].node);
	}
	if (lb_model_fe_seal(fe, NULL, 0) != 0) {
		lb_model_fe_put(fe);
		return NULL;
	}
	return fe;
}

void
lb_k8s_map_out_fini(struct lb_k8s_map_out *out)
{
	uint32_t i;

	for (i = 0; i < out->n_fes; i++)
		lb_model_fe_put(out->fes[i]);
	free(out->fes);
	memset(out, 0, sizeof(*out));
}

int
lb_k8s_map_service(const struct lb_k8s_map_in *in, struct lb_k8s_map_out *out,
	lb_k8s_note_fn note, void *ctx)
{
	const struct lb_k8s_obj *o = in->svc;
	const struct lb_k8s_svc *s = &o->svc;
	struct ranges r = { 0 };
	struct tgts t = { 0 };
	const char *m;
	int override = -1, rc;
	uint32_t p, v;

	memset(out, 0, sizeof(*out));
	m = lb_k8s_annotation(o, LB_K8S_ANN_METHOD);
	if (m != NULL && strcasecmp(m, "fullnat") == 0)
		override = LB_METHOD_FULLNAT;
	else if (m != NULL && strcasecmp(m, "dnat") == 0)
		override = LB_METHOD_DNAT;
	else if (m != NULL)
		notef(note, ctx, LB_K8S_R_BAD_ANNOTATION, "annotation %s: \"%.64s\" is neither "
			"\"fullnat\" nor \"dnat\"; using the policy's method", LB_K8S_ANN_METHOD, m);
	rc = source_ranges(o, &r, note, ctx);
	if (rc != 0)
		goto out;
	if (s->n_ports > 0 && in->n_vips > 0) {
		out->fes = calloc((size_t)s->n_ports * in->n_vips, sizeof(*out->fes));
		if (out->fes == NULL) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (p = 0; p < s->n_ports; p++) {
		const struct lb_k8s_svc_port *sp = &s->ports[p];
		bool nodes = s->policy == LB_K8S_POLICY_CLUSTER && s->alloc_node_ports &&
			sp->node_port != 0;

		if (sp->proto == 0) {
			notef(note, ctx, LB_K8S_R_UNSUPPORTED_PROTOCOL, "port %s: protocol %s is not "
				"supported (only TCP and UDP); the port is not served",
				*sp->name != '\0' ? sp->name : "(unnamed)", sp->protocol);
			continue;
		}
		for (v = 0; v < in->n_vips; v++) {
			uint8_t f = in->vips[v].family;
			struct lb_model_fe *fe;

			t.n = 0;
			rc = nodes ? node_targets(in, sp, f, &t) : endpoint_targets(in, sp, f, &t);
			if (rc != 0)
				goto out;
			fe = build_fe(in, sp, &in->vips[v], override >= 0 ? (uint8_t)override :
				nodes ? LB_METHOD_FULLNAT : LB_METHOD_DNAT, &t, &r);
			if (fe == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			out->fes[out->n_fes++] = fe;
			out->uses_nodes |= nodes;
		}
	}
	rc = 0;
out:
	free(t.v);
	free(r.v);
	if (rc != 0)
		lb_k8s_map_out_fini(out);
	return rc;
}
