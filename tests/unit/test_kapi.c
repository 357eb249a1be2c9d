/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/kapi connection settings: kubeconfig files (YAML and JSON, good and
 * broken) and in-cluster service-account files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "lb_kapi.h"

#define CA_PEM	"-----BEGIN CERTIFICATE-----\nMIIBcA==\n-----END CERTIFICATE-----\n"
#define KEY_PEM	"-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n"
/* base64 of CA_PEM and KEY_PEM */
#define CA_B64	"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJjQT09Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
#define KEY_B64	"LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0MKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo="

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_kapi.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static const char *
put(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes dir/name (directories created) and returns its path (static). */
static const char *
put(const char *name, const char *fmt, ...)
{
	static char path[256];
	char *slash;
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	return path;
}

static char *
path_of(const char *name)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

/* A kubectl-style YAML file: two clusters, three users, three contexts. */
static const char *
write_yaml(void)
{
	put("pki/ca.crt", CA_PEM);
	put("pki/other-ca.crt", CA_PEM);
	put("pki/client.crt", CA_PEM);
	put("pki/client.key", KEY_PEM);
	put("sa-token", "tok-from-file\n");
	return put("kube/config",
		"apiVersion: v1\n"
		"kind: Config\n"
		"preferences: {}\n"
		"current-context: admin@prod\n"
		"clusters:\n"
		"- name: prod\n"
		"  cluster:\n"
		"    server: https://10.0.0.1:6443/\n"
		"    certificate-authority: ../pki/ca.crt\n"
		"- name: lab\n"
		"  cluster:\n"
		"    server: \"https://[fd00::1]:443\"\n"
		"    certificate-authority-data: " CA_B64 "\n"
		"    insecure-skip-tls-verify: false\n"
		"users:\n"
		"- name: admin\n"
		"  user:\n"
		"    token: 'abc.def'   # inline\n"
		"- name: robot\n"
		"  user:\n"
		"    tokenFile: %s\n"
		"    token: ignored-static\n"
		"- name: certuser\n"
		"  user:\n"
		"    client-certificate-data: " CA_B64 "\n"
		"    client-key-data: >-\n"
		"      " KEY_B64 "\n"
		"- name: certfiles\n"
		"  user:\n"
		"    client-certificate: ../pki/client.crt\n"
		"    client-key: %s\n"
		"contexts:\n"
		"- name: admin@prod\n"
		"  context: {cluster: prod, user: admin, namespace: lb-system}\n"
		"- name: robot@lab\n"
		"  context:\n"
		"    cluster: lab\n"
		"    user: robot\n"
		"- name: cert@lab\n"
		"  context: {cluster: lab, user: certuser}\n"
		"- name: files@prod\n"
		"  context: {cluster: prod, user: certfiles}\n"
		"- name: anon@prod\n"
		"  context: {cluster: prod}\n",
		"../sa-token", path_of("pki/client.key"));
}

static void
test_yaml_current_context(void **state)
{
	struct lb_kapi_conf c;
	char err[512] = "", ca[256];
	const char *kc = write_yaml();

	(void)state;
	snprintf(ca, sizeof(ca), "%s/kube/../pki/ca.crt", dir);
	assert_int_equal(lb_kapi_conf_load_kubeconfig(&c, kc, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://10.0.0.1:6443");	/* trailing '/' gone */
	assert_string_equal(c.context, "admin@prod");
	assert_string_equal(c.namespace, "lb-system");
	assert_string_equal(c.ca_file, ca);	/* relative to the kubeconfig */
	assert_null(c.ca_data);
	assert_string_equal(c.token, "abc.def");
	assert_null(c.token_file);
	assert_null(c.cert_file);
	assert_null(c.cert_data);
	assert_false(c.insecure);
	assert_null(c.warnings);
	assert_non_null(strstr(c.source, kc));
	assert_non_null(strstr(c.source, "admin@prod"));
	lb_kapi_conf_free(&c);
	assert_null(c.server);
}

static void
test_yaml_named_contexts(void **state)
{
	struct lb_kapi_conf c;
	char err[512] = "", tf[256];
	const char *kc = write_yaml();

	(void)state;
	snprintf(tf, sizeof(tf), "%s/kube/../sa-token", dir);
	assert_int_equal(lb_kapi_conf_load_kubeconfig(&c, kc, "robot@lab", err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://[fd00::1]:443");
	assert_null(c.ca_file);
	assert_int_equal(c.ca_len, strlen(CA_PEM));
	assert_memory_equal(c.ca_data, CA_PEM, c.ca_len);
	assert_string_equal(c.token_file, tf);
	assert_string_equal(c.token, "ignored-static");	/* the file wins at run time */
	assert_null(c.namespace);
	lb_kapi_conf_free(&c);

	assert_int_equal(lb_kapi_conf_load_kubeconfig(&c, kc, "cert@lab", err, sizeof(err)), 0);
	assert_int_equal(c.cert_len, strlen(CA_PEM));
	assert_memory_equal(c.cert_data, CA_PEM, c.cert_len);
	assert_int_equal(c.key_len, strlen(KEY_PEM));
	assert_memory_equal(c.key_data, KEY_PEM, c.key_len);
	assert_null(c.token);
	assert_null(c.token_file);
	lb_kapi_conf_free(&c);

	assert_int_equal(lb_kapi_conf_load_kubeconfig(&c, kc, "files@prod", err, sizeof(err)), 0);
	assert_non_null(strstr(c.cert_file, "/kube/../pki/client.crt"));
	assert_string_equal(c.key_file, path_of("pki/client.key"));	/* absolute as given */
	lb_kapi_conf_free(&c);

	/* a context without a user: anonymous, allowed */
	assert_int_equal(lb_kapi_conf_load_kubeconfig(&c, kc, "anon@prod", err, sizeof(err)), 0);
	assert_null(c.token);
	assert_null(c.cert_file);
	lb_kapi_conf_free(&c);

	/* lb_kapi_conf_load dispatches on the path */
	assert_int_equal(lb_kapi_conf_load(&c, kc, "robot@lab", err, sizeof(err)), 0);
	assert_non_null(c.token_file);
	lb_kapi_conf_free(&c);
}

/* The fake API server writes JSON kubeconfigs; kubectl reads both. */
static void
test_json_kubeconfig(void **state)
{
	struct lb_kapi_conf c;
	char err[512] = "";
	const char *kc;

	(void)state;
	put("ca.crt", CA_PEM);
	kc = put("kubeconfig.json",
		"{\"apiVersion\": \"v1\", \"kind\": \"Config\", \"preferences\": {},\n"
		" \"current-context\": \"fake\",\n"
		" \"clusters\": [{\"name\": \"fake\", \"cluster\": {\"server\": \"https://127.0.0.1:39697\","
		" \"certificate-authority\": \"%s\", \"insecure-skip-tls-verify\": false}}],\n"
		" \"users\": [{\"name\": \"u\", \"user\": {\"token\": \"t0k\"}}],\n"
		" \"contexts\": [{\"name\": \"fake\", \"context\": {\"cluster\": \"fake\", \"user\": \"u\","
		" \"namespace\": \"default\"}}]}\n", path_of("ca.crt"));
	assert_int_equal(lb_kapi_conf_load_kubeconfig(&c, kc, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://127.0.0.1:39697");
	assert_string_equal(c.token, "t0k");
	assert_string_equal(c.ca_file, path_of("ca.crt"));
	lb_kapi_conf_free(&c);

	/* a JSON syntax error gives the line */
	kc = put("bad.json", "{\"clusters\": [\n  {\"name\": \"x\",,}\n]}\n");
	assert_int_equal(lb_kapi_conf_load_kubeconfig(&c, kc, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad.json:2:"));
}

static void
test_insecure(void **state)
{
	struct lb_kapi_conf c;
	char err[512] = "";
	const char *kc;

	(void)state;
	kc = put("insecure",
		"clusters: [{name: c, cluster: {server: 'https://h:1', insecure-skip-tls-verify: true}}]\n"
		"users: [{name: u, user: {token: t}}]\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"current-context: x\n");
	assert_int_equal(lb_kapi_conf_load_kubeconfig(&c, kc, NULL, err, sizeof(err)), 0);
	assert_true(c.insecure);
	assert_non_null(c.warnings);
	assert_non_null(strstr(c.warnings, "insecure-skip-tls-verify"));
	lb_kapi_conf_free(&c);

	/* plain http, an ignored exec plugin and tls-server-name: warnings */
	kc = put("warn",
		"clusters: [{name: c, cluster: {server: 'http://h:8080', tls-server-name: api}}]\n"
		"users: [{name: u, user: {token: t, exec: {command: aws}}}]\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"current-context: x\n");
	assert_int_equal(lb_kapi_conf_load_kubeconfig(&c, kc, NULL, err, sizeof(err)), 0);
	assert_non_null(strstr(c.warnings, "plain HTTP"));
	assert_non_null(strstr(c.warnings, "exec"));
	assert_non_null(strstr(c.warnings, "tls-server-name"));
	lb_kapi_conf_free(&c);
}

struct bad_case {
	const char *name;
	const char *text;	/* kubeconfig; %s = the directory */
	const char *context;
	int rc;
	const char *msg;	/* must appear in err */
};

static void
test_broken_kubeconfigs(void **state)
{
	static const struct bad_case cases[] = {
		{ "empty", "   \n", NULL, -EINVAL, "empty" },
		{ "yaml-syntax", "clusters:\n  - name: a\n   bad: [\n", NULL, -EINVAL, "yaml-syntax:3:" },
		{ "scalar", "just a string\n", NULL, -EINVAL, "not a kubeconfig" },
		{ "no-current", "clusters: []\n", NULL, -EINVAL, "no current-context" },
		{ "no-context", "current-context: x\ncontexts: [{name: a, context: {cluster: c}},"
			" {name: b, context: {cluster: c}}]\n", NULL, -ENOENT,
			"no context named \"x\" (contexts: a, b)" },
		{ "named-missing", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n",
			"zz", -ENOENT, "no context named \"zz\"" },
		{ "ctx-no-cluster", "current-context: a\ncontexts: [{name: a, context: {user: u}}]\n",
			NULL, -EINVAL, "names no cluster" },
		{ "no-clusters", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n",
			NULL, -EINVAL, "no clusters" },
		{ "no-server", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
			"clusters: [{name: c, cluster: {certificate-authority: /x}}]\n", NULL, -EINVAL,
			"cluster \"c\" has no server" },
		{ "bad-server", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
			"clusters: [{name: c, cluster: {server: 'ftp://h'}}]\n", NULL, -EINVAL,
			"not an http:// or https:// URL" },
		{ "ca-missing", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: nope.crt}}]\n",
			NULL, -ENOENT, "/nope.crt: No such file" },
		{ "ca-not-pem", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: %s/sa-token}}]\n",
			NULL, -EINVAL, "sa-token is not a PEM certificate" },
		{ "ca-data-b64", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: '!!'}}]\n",
			NULL, -EINVAL, "certificate-authority-data is not valid base64" },
		{ "ca-data-pem", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: Zm9v}}]\n",
			NULL, -EINVAL, "does not hold a PEM certificate" },
		{ "insecure-and-ca", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: yes,"
			" certificate-authority-data: " CA_B64 "}}]\n", NULL, -EINVAL, "both" },
		{ "insecure-bad", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: maybe}}]\n",
			NULL, -EINVAL, "not a boolean" },
		{ "user-missing", "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h'}}]\n", NULL, -EINVAL,
			"no users, so no user \"u\"" },
		{ "exec-only", "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
			"users: [{name: u, user: {exec: {command: gke-gcloud-auth-plugin}}}]\n", NULL, -ENOTSUP,
			"exec credential plugin" },
		{ "cert-no-key", "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
			"users: [{name: u, user: {client-certificate-data: " CA_B64 "}}]\n", NULL, -EINVAL,
			"has a client certificate but no client-key" },
		{ "key-not-key", "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
			"users: [{name: u, user: {client-certificate-data: " CA_B64 ", client-key-data: " CA_B64 "}}]\n",
			NULL, -EINVAL, "client-key-data does not hold a PEM private key" },
		{ "tokenfile-missing", "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
			"users: [{name: u, user: {tokenFile: /nonexistent/token}}]\n", NULL, -ENOENT,
			"cannot read token file /nonexistent/token" },
		{ "tokenfile-empty", "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
			"users: [{name: u, user: {tokenFile: empty-token}}]\n", NULL, -ENODATA,
			"empty-token is empty" },
		{ "token-crlf", "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
			"users: [{name: u, user: {token: \"a\\r\\nX-Evil: 1\"}}]\n", NULL, -EINVAL,
			"characters a bearer token cannot have" },
		{ "not-a-list", "current-context: a\ncontexts: {a: b}\n", NULL, -EINVAL, "contexts is not a list" },
		{ "entry-no-name", "current-context: a\ncontexts: [{context: {cluster: c}}]\n", NULL, -EINVAL,
			"contexts entry 1 has no name" },
		{ "server-list", "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
			"clusters: [{name: c, cluster: {server: [x]}}]\n", NULL, -EINVAL, "must be a string" },
		{ "alias-bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
			NULL, -EINVAL, "too many nodes" },
	};
	struct lb_kapi_conf c;
	char err[512];
	size_t i;

	(void)state;
	put("sa-token", "tok\n");
	put("empty-token", "\n");
	for (i = 0; i < LB_ARRAY_SIZE(cases); i++) {
		const char *kc = put(cases[i].name, cases[i].text, dir);
		int rc;

		memset(err, 0, sizeof(err));
		rc = lb_kapi_conf_load_kubeconfig(&c, kc, cases[i].context, err, sizeof(err));
		if (rc != cases[i].rc || strstr(err, cases[i].msg) == NULL)
			fail_msg("%s: rc %d (want %d), err \"%s\" (want \"%s\")", cases[i].name, rc,
				cases[i].rc, err, cases[i].msg);
		/* every message names the file (or the file it points at) */
		assert_true(strstr(err, dir) != NULL);
		assert_null(c.server);	/* left empty */
	}
	/* a missing kubeconfig */
	assert_int_equal(lb_kapi_conf_load_kubeconfig(&c, path_of("none"), NULL, err, sizeof(err)),
		-ENOENT);
	assert_non_null(strstr(err, path_of("none")));
	assert_int_equal(lb_kapi_conf_load_kubeconfig(&c, dir, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
}

static void
sa_files(const char *root, bool token, bool ca, bool ns)
{
	char name[256];

	snprintf(name, sizeof(name), "%s/var/run/secrets/kubernetes.io/serviceaccount/x", root);
	if (token) {
		snprintf(name, sizeof(name), "%s/var/run/secrets/kubernetes.io/serviceaccount/token", root);
		put(name, "eyJhbGciOiJSUzI1NiJ9.e30.sig\n");
	}
	if (ca) {
		snprintf(name, sizeof(name), "%s/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", root);
		put(name, CA_PEM);
	}
	if (ns) {
		snprintf(name, sizeof(name), "%s/var/run/secrets/kubernetes.io/serviceaccount/namespace", root);
		put(name, "lb-system");
	}
}

static void
test_in_cluster(void **state)
{
	struct lb_kapi_conf c;
	char err[512], root[128], want[256];

	(void)state;
	snprintf(root, sizeof(root), "%s/r1", dir);
	sa_files("r1", true, true, true);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(lb_kapi_conf_load_in_cluster(&c, root, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://10.96.0.1:443");
	assert_string_equal(c.source, "in-cluster");
	snprintf(want, sizeof(want), "%s/var/run/secrets/kubernetes.io/serviceaccount/token", root);
	assert_string_equal(c.token_file, want);
	snprintf(want, sizeof(want), "%s/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", root);
	assert_string_equal(c.ca_file, want);
	assert_string_equal(c.namespace, "lb-system");
	assert_null(c.token);
	assert_false(c.insecure);
	lb_kapi_conf_free(&c);

	/* IPv6 service address; no namespace file */
	snprintf(root, sizeof(root), "%s/r2", dir);
	sa_files("r2", true, true, false);
	setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
	assert_int_equal(lb_kapi_conf_load_in_cluster(&c, root, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://[fd00:10:96::1]:443");
	assert_null(c.namespace);
	lb_kapi_conf_free(&c);

	/* no token, no CA: errors naming the file */
	snprintf(root, sizeof(root), "%s/r3", dir);
	sa_files("r3", false, true, true);
	assert_int_equal(lb_kapi_conf_load_in_cluster(&c, root, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "r3/var/run/secrets/kubernetes.io/serviceaccount/token"));
	snprintf(root, sizeof(root), "%s/r4", dir);
	sa_files("r4", true, false, true);
	assert_int_equal(lb_kapi_conf_load_in_cluster(&c, root, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "r4/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"));

	/* bad and missing environment */
	setenv("KUBERNETES_SERVICE_PORT", "https", 1);
	assert_int_equal(lb_kapi_conf_load_in_cluster(&c, root, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE"));
	unsetenv("KUBERNETES_SERVICE_PORT");
	assert_int_equal(lb_kapi_conf_load_in_cluster(&c, root, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
	assert_int_equal(lb_kapi_conf_load(&c, NULL, NULL, err, sizeof(err)), -ENOENT);
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_null(c.server);
}

/* A client needs a server; with one it is created and destroyed cleanly
 * without touching the network, and logs the insecure warning. */
static int warned;

static void
log_cb(void *ctx, enum lb_kapi_log_level lvl, const char *msg)
{
	(void)ctx;
	if (lvl == LB_KAPI_LOG_WARN && strstr(msg, "insecure-skip-tls-verify") != NULL)
		warned++;
}

static void
test_client_create(void **state)
{
	struct lb_ev *ev = lb_ev_create();
	struct lb_kapi_params p = { .version = "0.2.0", .log = log_cb };
	struct lb_kapi_conf c = { 0 };
	struct lb_kapi_status st;
	struct lb_kapi *k;
	struct json_object *j;
	char err[256];

	(void)state;
	assert_non_null(ev);
	assert_null(lb_kapi_create(ev, &c, &p, err, sizeof(err)));
	c.server = strdup("https://127.0.0.1:1");
	c.insecure = true;
	c.warnings = strdup("cluster \"c\" sets insecure-skip-tls-verify: not verified");
	c.token_file = strdup("/nonexistent/token");
	assert_null(lb_kapi_create(ev, &c, &p, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/token"));
	free(c.token_file);
	c.token_file = NULL;
	c.token = strdup("t");
	k = lb_kapi_create(ev, &c, &p, err, sizeof(err));
	assert_non_null(k);
	assert_int_equal(warned, 1);
	lb_kapi_status(k, &st);
	assert_string_equal(st.server, "https://127.0.0.1:1");
	assert_string_equal(st.auth, "token");
	j = lb_kapi_status_json(k);
	assert_non_null(j);
	assert_non_null(strstr(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), "\"resources\":[]"));
	json_object_put(j);
	lb_kapi_destroy(k);
	lb_kapi_conf_free(&c);
	lb_ev_destroy(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_yaml_current_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_yaml_named_contexts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_kubeconfig, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insecure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_kubeconfigs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_cluster, setup, teardown),
		cmocka_unit_test(test_client_create),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
