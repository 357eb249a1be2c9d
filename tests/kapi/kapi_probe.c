/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kapi_probe: lib/kapi on a lib/ev loop, driven over stdin and reporting on
 * stdout, one JSON object per line. The integration tests (test_kapi_live.py)
 * and the listing benchmark (bench_kapi_list.py) run it against the fake API
 * server; it is also a handy way to point lib/kapi at a real cluster:
 *
 *   kapi_probe --kubeconfig ~/.kube/config [--context C] [--quiet]
 *   kapi_probe --in-cluster [ROOT]
 *
 * Output: {"ev":"log"|"state"|"relist_begin"|"object"|"relist_end"|"synced"|
 * "response"|"status"|"bye", ...}. Input: {"cmd":"request"|"cancel"|"status"|
 * "relist"|"stop"|"start"|"reset_max"|"quit", ...}; EOF quits too.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lb_ev.h"
#include "lb_kapi.h"

#define MAX_RES		8
#define MAX_TAGS	256

struct res {
	struct lb_kapi_reflector *r;
	const char *name;
	struct json_object *held;	/* --hold: namespace/name -> object */
	struct json_object *next;	/* --hold: the relist being received */
	uint64_t in_relist;	/* objects since relist_begin */
	uint64_t objects;	/* all objects delivered */
	bool synced;
};

struct tag {
	char name[64];
	int64_t id;
};

static struct {
	struct lb_ev *ev;
	struct lb_kapi *k;
	struct res res[MAX_RES];
	int n_res;
	bool quiet;
	bool full;
	bool hold;
	uint64_t max_cpu_us;	/* thread CPU time of the longest lb_ev_run_once() */
	bool done;
	bool all_synced;
	uint64_t t0;
	struct tag tags[MAX_TAGS];
	char in[1 << 20];
	size_t in_len;
} P;

static uint64_t
cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
emit(struct json_object *o)
{
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
			JSON_C_TO_STRING_NOSLASHESCAPE), stdout);
	fputc('\n', stdout);
	fflush(stdout);
	json_object_put(o);
}

static struct json_object *
event(const char *ev, const char *res)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ev", json_object_new_string(ev));
	if (res != NULL)
		json_object_object_add(o, "res", json_object_new_string(res));
	json_object_object_add(o, "t_ms", json_object_new_uint64(lb_ev_now_ms() - P.t0));
	return o;
}

static void
on_log(void *ctx, enum lb_kapi_log_level lvl, const char *msg)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };
	struct json_object *o = event("log", NULL);

	(void)ctx;
	json_object_object_add(o, "level", json_object_new_string(names[lvl]));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	emit(o);
}

static struct res *
res_of(void *ctx)
{
	return ctx;
}

static void
on_relist_begin(void *ctx, struct lb_kapi_reflector *r)
{
	struct res *s = res_of(ctx);

	(void)r;
	s->in_relist = 0;
	if (P.hold) {
		json_object_put(s->next);
		s->next = json_object_new_object();
	}
	emit(event("relist_begin", s->name));
}

static const char *
md(struct json_object *obj, const char *key)
{
	struct json_object *m, *v;

	if (!json_object_object_get_ex(obj, "metadata", &m) || !json_object_object_get_ex(m, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static void
on_object(void *ctx, struct lb_kapi_reflector *r, enum lb_kapi_event type, struct json_object *obj)
{
	struct res *s = res_of(ctx);
	struct json_object *o;

	(void)r;
	s->in_relist++;
	s->objects++;
	if (P.hold) {
		/* what a consumer building a model does: keep the latest of each */
		char key[512];
		struct json_object *map = s->next ? s->next : s->held;

		snprintf(key, sizeof(key), "%s/%s", md(obj, "namespace") ? md(obj, "namespace") : "",
			md(obj, "name") ? md(obj, "name") : "");
		if (type == LB_KAPI_DELETED) {
			json_object_object_del(map, key);
			json_object_put(obj);
		} else {
			json_object_object_add(map, key, P.quiet ? obj : json_object_get(obj));
		}
	}
	if (P.quiet) {
		if (!P.hold)
			json_object_put(obj);
		return;
	}
	o = event("object", s->name);
	json_object_object_add(o, "type", json_object_new_string(lb_kapi_event_name(type)));
	if (md(obj, "namespace") != NULL)
		json_object_object_add(o, "ns", json_object_new_string(md(obj, "namespace")));
	json_object_object_add(o, "name", json_object_new_string(md(obj, "name") ? md(obj, "name") : ""));
	json_object_object_add(o, "rv", json_object_new_string(md(obj, "resourceVersion") ?
			md(obj, "resourceVersion") : ""));
	if (P.full)
		json_object_object_add(o, "obj", obj);	/* our reference moves into o */
	else
		json_object_put(obj);
	emit(o);
}

static void
loop_stats(struct json_object *o)
{
	struct lb_ev_stats st;
	struct json_object *l = json_object_new_object();

	lb_ev_stats(P.ev, &st);
	json_object_object_add(l, "passes", json_object_new_uint64(st.passes));
	json_object_object_add(l, "busy_us", json_object_new_uint64(st.busy_us));
	json_object_object_add(l, "max_pass_us", json_object_new_uint64(st.max_pass_us));
	json_object_object_add(l, "slow_passes", json_object_new_uint64(st.slow_passes));
	json_object_object_add(l, "max_pass_cpu_us", json_object_new_uint64(P.max_cpu_us));
	json_object_object_add(o, "loop", l);
}

static void
on_relist_end(void *ctx, struct lb_kapi_reflector *r, const char *rv)
{
	struct res *s = res_of(ctx);
	struct json_object *o = event("relist_end", s->name);
	int i;

	(void)r;
	if (P.hold && s->next != NULL) {
		json_object_put(s->held);	/* the old model goes */
		s->held = s->next;
		s->next = NULL;
	}
	json_object_object_add(o, "rv", json_object_new_string(rv));
	json_object_object_add(o, "count", json_object_new_uint64(s->in_relist));
	emit(o);
	s->synced = true;
	if (P.all_synced)
		return;
	for (i = 0; i < P.n_res; i++)
		if (!P.res[i].synced)
			return;
	P.all_synced = true;
	o = event("synced", NULL);
	loop_stats(o);
	emit(o);
}

static void
on_state(void *ctx, struct lb_kapi_reflector *r, const struct lb_kapi_reflector_status *st)
{
	struct res *s = res_of(ctx);
	struct json_object *o = event("state", s->name);

	(void)r;
	json_object_object_add(o, "state", json_object_new_string(lb_kapi_rstate_name(st->state)));
	json_object_object_add(o, "error", json_object_new_string(st->last_error));
	emit(o);
}

static void
on_response(void *ctx, const struct lb_kapi_response *resp)
{
	struct tag *t = ctx;
	struct json_object *o = event("response", NULL);

	json_object_object_add(o, "tag", json_object_new_string(t->name));
	json_object_object_add(o, "status", json_object_new_int64(resp->status));
	json_object_object_add(o, "err", json_object_new_int(resp->err));
	json_object_object_add(o, "error", json_object_new_string(resp->error));
	json_object_object_add(o, "retry_after", json_object_new_int64(resp->retry_after_s));
	json_object_object_add(o, "raw_len", json_object_new_uint64(resp->raw_len));
	json_object_object_add(o, "body", resp->body ? json_object_get(resp->body) : NULL);
	if (resp->body == NULL && resp->raw_len > 0)
		json_object_object_add(o, "raw", json_object_new_string_len(resp->raw,
				(int)LB_MIN(resp->raw_len, (size_t)4096)));
	emit(o);
	t->name[0] = '\0';
	t->id = 0;
}

static const char *
str(struct json_object *req, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct res *
find_res(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < P.n_res; i++)
		if (strcmp(P.res[i].name, name) == 0)
			return &P.res[i];
	return NULL;
}

static void
reply_error(const char *cmd, const char *msg)
{
	struct json_object *o = event("error", NULL);

	json_object_object_add(o, "cmd", json_object_new_string(cmd ? cmd : ""));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	emit(o);
}

static void
run_command(struct json_object *req)
{
	const char *cmd = str(req, "cmd");
	struct res *s;

	if (cmd == NULL) {
		reply_error(NULL, "no cmd");
	} else if (strcmp(cmd, "request") == 0) {
		struct lb_kapi_request rq = {
			.method = str(req, "method"), .path = str(req, "path"), .query = str(req, "query"),
			.content_type = str(req, "content_type"), .body = str(req, "body"),
		};
		struct json_object *v;
		struct tag *t = NULL;
		int64_t id;
		int i;

		if (json_object_object_get_ex(req, "timeout_ms", &v))
			rq.timeout_ms = (uint32_t)json_object_get_int(v);
		rq.body_len = rq.body ? strlen(rq.body) : 0;
		for (i = 0; i < MAX_TAGS && t == NULL; i++)
			if (P.tags[i].name[0] == '\0')
				t = &P.tags[i];
		if (t == NULL) {
			reply_error(cmd, "too many requests");
			return;
		}
		snprintf(t->name, sizeof(t->name), "%s", str(req, "tag") ? str(req, "tag") : "");
		id = lb_kapi_request(P.k, &rq, on_response, t);
		if (id < 0) {
			struct json_object *o = event("rejected", NULL);

			json_object_object_add(o, "tag", json_object_new_string(t->name));
			json_object_object_add(o, "err", json_object_new_int((int)id));
			emit(o);
			t->name[0] = '\0';
			return;
		}
		t->id = id;
	} else if (strcmp(cmd, "cancel") == 0) {
		const char *tag = str(req, "tag");
		struct json_object *o = event("cancelled", NULL);
		int i, rc = -ENOENT;

		for (i = 0; tag != NULL && i < MAX_TAGS; i++) {
			if (P.tags[i].id != 0 && strcmp(P.tags[i].name, tag) == 0) {
				rc = lb_kapi_cancel(P.k, P.tags[i].id);
				P.tags[i].name[0] = '\0';
				P.tags[i].id = 0;
				break;
			}
		}
		json_object_object_add(o, "tag", json_object_new_string(tag ? tag : ""));
		json_object_object_add(o, "rc", json_object_new_int(rc));
		emit(o);
	} else if (strcmp(cmd, "status") == 0) {
		struct json_object *o = event("status", NULL);

		json_object_object_add(o, "kapi", lb_kapi_status_json(P.k));
		loop_stats(o);
		emit(o);
	} else if (strcmp(cmd, "relist") == 0 && (s = find_res(str(req, "res"))) != NULL) {
		lb_kapi_reflector_relist(s->r);
	} else if (strcmp(cmd, "stop") == 0 && (s = find_res(str(req, "res"))) != NULL) {
		lb_kapi_reflector_stop(s->r);
	} else if (strcmp(cmd, "start") == 0 && (s = find_res(str(req, "res"))) != NULL) {
		lb_kapi_reflector_start(s->r);
	} else if (strcmp(cmd, "reset_max") == 0) {
		lb_ev_stats_reset_max(P.ev);
		P.max_cpu_us = 0;
	} else if (strcmp(cmd, "quit") == 0) {
		P.done = true;
	} else {
		reply_error(cmd, "unknown command or resource");
	}
}

static void
on_stdin(void *ctx, int fd, uint32_t events)
{
	ssize_t n;
	char *nl;

	(void)ctx;
	(void)events;
	n = read(fd, P.in + P.in_len, sizeof(P.in) - 1 - P.in_len);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		P.done = true;
		lb_ev_fd_del(P.ev, fd);
		return;
	}
	P.in_len += (size_t)n;
	P.in[P.in_len] = '\0';
	while ((nl = memchr(P.in, '\n', P.in_len)) != NULL) {
		struct json_object *req;

		*nl = '\0';
		req = json_tokener_parse(P.in);
		if (req != NULL)
			run_command(req);
		else if (P.in[0] != '\0')
			reply_error(NULL, "bad JSON");
		json_object_put(req);
		P.in_len -= (size_t)(nl + 1 - P.in);
		memmove(P.in, nl + 1, P.in_len);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: kapi_probe (--kubeconfig PATH [--context NAME] | --in-cluster [ROOT])\n"
		"  [--resources services,endpointslices,nodes] [--label-selector S]\n"
		"  [--list-limit N] [--list-idle-ms MS] [--watch-timeout S] [--watch-slack-ms MS]\n"
		"  [--backoff-base-ms MS] [--backoff-max-ms MS] [--budget-us US] [--max-requests N]\n"
		"  [--max-queued N] [--request-timeout-ms MS] [--seed N] [--quiet] [--full] [--hold]\n"
		"--quiet: count objects, do not print them; --full: print whole objects;\n"
		"--hold: keep the latest of each object, as a consumer building a model would\n");
	exit(2);
}

static const char *
path_of(const char *name)
{
	if (strcmp(name, "services") == 0)
		return LB_KAPI_PATH_SERVICES;
	if (strcmp(name, "endpointslices") == 0)
		return LB_KAPI_PATH_ENDPOINTSLICES;
	if (strcmp(name, "nodes") == 0)
		return LB_KAPI_PATH_NODES;
	return name[0] == '/' ? name : NULL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "context", required_argument, NULL, 'c' },
		{ "in-cluster", optional_argument, NULL, 'i' },
		{ "resources", required_argument, NULL, 'r' },
		{ "label-selector", required_argument, NULL, 'l' },
		{ "list-limit", required_argument, NULL, 1 },
		{ "list-idle-ms", required_argument, NULL, 2 },
		{ "watch-timeout", required_argument, NULL, 3 },
		{ "watch-slack-ms", required_argument, NULL, 4 },
		{ "backoff-base-ms", required_argument, NULL, 5 },
		{ "backoff-max-ms", required_argument, NULL, 6 },
		{ "budget-us", required_argument, NULL, 7 },
		{ "max-requests", required_argument, NULL, 8 },
		{ "max-queued", required_argument, NULL, 9 },
		{ "request-timeout-ms", required_argument, NULL, 10 },
		{ "seed", required_argument, NULL, 11 },
		{ "quiet", no_argument, NULL, 'q' },
		{ "full", no_argument, NULL, 'f' },
		{ "hold", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lb_kapi_params p = { .version = "probe", .log = on_log };
	const char *kubeconfig = NULL, *context = NULL, *root = NULL, *label = NULL;
	char resources[256] = "services,endpointslices,nodes", err[512], *save = NULL, *name;
	struct lb_kapi_reflector_ops ops = {
		.relist_begin = on_relist_begin, .object = on_object, .relist_end = on_relist_end,
		.state = on_state,
	};
	struct lb_kapi_conf conf;
	bool in_cluster = false;
	int c, i, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kubeconfig = optarg; break;
		case 'c': context = optarg; break;
		case 'i': in_cluster = true; root = optarg; break;
		case 'r': snprintf(resources, sizeof(resources), "%s", optarg); break;
		case 'l': label = optarg; break;
		case 1: p.list_limit = (uint32_t)atoi(optarg); break;
		case 2: p.list_idle_ms = (uint32_t)atoi(optarg); break;
		case 3: p.watch_timeout_s = (uint32_t)atoi(optarg); break;
		case 4: p.watch_slack_ms = (uint32_t)atoi(optarg); break;
		case 5: p.backoff_base_ms = (uint32_t)atoi(optarg); break;
		case 6: p.backoff_max_ms = (uint32_t)atoi(optarg); break;
		case 7: p.pass_budget_us = (uint32_t)atoi(optarg); break;
		case 8: p.max_requests = (uint32_t)atoi(optarg); break;
		case 9: p.max_queued = (uint32_t)atoi(optarg); break;
		case 10: p.request_timeout_ms = (uint32_t)atoi(optarg); break;
		case 11: p.seed = strtoull(optarg, NULL, 0); break;
		case 'q': P.quiet = true; break;
		case 'f': P.full = true; break;
		case 'h': P.hold = true; break;
		default: usage();
		}
	}
	if ((kubeconfig == NULL) == !in_cluster)
		usage();
	signal(SIGPIPE, SIG_IGN);
	P.t0 = lb_ev_now_ms();
	rc = in_cluster ? lb_kapi_conf_load_in_cluster(&conf, root, err, sizeof(err)) :
		lb_kapi_conf_load_kubeconfig(&conf, kubeconfig, context, err, sizeof(err));
	if (rc < 0) {
		struct json_object *o = event("conf_error", NULL);

		json_object_object_add(o, "err", json_object_new_int(rc));
		json_object_object_add(o, "msg", json_object_new_string(err));
		emit(o);
		return 1;
	}
	P.ev = lb_ev_create();
	P.k = P.ev ? lb_kapi_create(P.ev, &conf, &p, err, sizeof(err)) : NULL;
	lb_kapi_conf_free(&conf);
	if (P.k == NULL) {
		fprintf(stderr, "kapi_probe: %s\n", err);
		return 1;
	}
	for (name = strtok_r(resources, ",", &save); name != NULL && P.n_res < MAX_RES;
	     name = strtok_r(NULL, ",", &save)) {
		struct lb_kapi_reflector_conf rc2 = {
			.name = name, .path = path_of(name), .label_selector = label,
		};
		struct res *s = &P.res[P.n_res];

		if (rc2.path == NULL)
			usage();
		s->name = name;
		s->r = lb_kapi_reflector_new(P.k, &rc2, &ops, s);
		if (s->r == NULL || lb_kapi_reflector_start(s->r) < 0) {
			fprintf(stderr, "kapi_probe: cannot start %s\n", name);
			return 1;
		}
		P.n_res++;
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	lb_ev_fd_add(P.ev, 0, LB_EV_IN, on_stdin, NULL);
	emit(event("ready", NULL));
	while (!P.done) {
		uint64_t c0 = cpu_us(), dc;

		lb_ev_run_once(P.ev, 1000);
		dc = cpu_us() - c0;
		if (dc > P.max_cpu_us)
			P.max_cpu_us = dc;
	}
	lb_kapi_shutdown(P.k);
	for (i = 0; i < MAX_TAGS; i++)
		if (P.tags[i].id != 0)
			fprintf(stderr, "kapi_probe: request %s never completed\n", P.tags[i].name);
	lb_kapi_destroy(P.k);
	lb_ev_destroy(P.ev);
	for (i = 0; i < P.n_res; i++) {
		json_object_put(P.res[i].held);
		json_object_put(P.res[i].next);
	}
	emit(event("bye", NULL));
	return 0;
}
