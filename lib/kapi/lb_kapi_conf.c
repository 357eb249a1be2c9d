/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection settings: a kubeconfig (YAML through libyaml, or JSON through
 * json-c, both turned into one json-c tree) or the in-cluster service-account
 * files. Everything a connection needs is checked here, once, so that a bad
 * file is reported at start-up with its name rather than as a TLS failure
 * later. lb_kapi_doc.c reads the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lb_kapi_priv.h"

#define SA_DIR		"/var/run/secrets/kubernetes.io/serviceaccount"

void
lb_kapi_conf_free(struct lb_kapi_conf *c)
{
	free(c->server);
	free(c->source);
	free(c->context);
	free(c->namespace);
	free(c->ca_file);
	free(c->ca_data);
	free(c->token);
	free(c->token_file);
	free(c->cert_file);
	free(c->cert_data);
	free(c->key_file);
	free(c->key_data);
	free(c->proxy);
	free(c->warnings);
	memset(c, 0, sizeof(*c));
}

static int
add_warning(struct lb_kapi_conf *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
add_warning(struct lb_kapi_conf *c, const char *fmt, ...)
{
	char msg[512], *w;
	size_t old = c->warnings ? strlen(c->warnings) : 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w = realloc(c->warnings, old + strlen(msg) + 3);
	if (w == NULL)
		return -ENOMEM;
	sprintf(w + old, "%s%s", old ? "; " : "", msg);
	c->warnings = w;
	return 0;
}

/* Reads a whole regular file (at most CONF_FILE_MAX bytes), NUL-terminated. */
/* In a list of {name: N, <inner>: {...}}, the inner object of entry name. */
static int
find_named(const char *path, struct json_object *root, const char *list, const char *inner,
		const char *name, struct json_object **out, char *err, size_t errlen)
{
	struct json_object *arr, *e, *n, *in;
	char names[256] = "";
	size_t i, used = 0;

	if (!json_object_object_get_ex(root, list, &arr) || arr == NULL) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: no %s, so no %s \"%s\"", path, list, inner, name);
		return -EINVAL;
	}
	if (!json_object_is_type(arr, json_type_array)) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: %s is not a list", path, list);
		return -EINVAL;
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(e, json_type_object) ||
		    !json_object_object_get_ex(e, "name", &n) ||
		    !json_object_is_type(n, json_type_string)) {
			lb_kapi_set_err(err, errlen, "kubeconfig %s: %s entry %zu has no name", path, list, i + 1);
			return -EINVAL;
		}
		if (strcmp(json_object_get_string(n), name) != 0) {
			if (used < sizeof(names))
				used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
						used ? ", " : "", json_object_get_string(n));
			continue;
		}
		if (!json_object_object_get_ex(e, inner, &in) || in == NULL ||
		    !json_object_is_type(in, json_type_object)) {
			lb_kapi_set_err(err, errlen, "kubeconfig %s: %s \"%s\" has no %s section", path, inner,
				name, inner);
			return -EINVAL;
		}
		*out = in;
		return 0;
	}
	lb_kapi_set_err(err, errlen, "kubeconfig %s: no %s named \"%s\" (%s: %s)", path, inner, name, list,
		used ? names : "none");
	return -ENOENT;
}

static char *
join_path(const char *dir, const char *p)
{
	char *out;

	if (p[0] == '/' || dir == NULL)
		return strdup(p);
	if (asprintf(&out, "%s/%s", dir, p) < 0)
		return NULL;
	return out;
}

static bool
has_pem(const char *buf, const char *what)
{
	const char *b = strstr(buf, "-----BEGIN ");

	while (b != NULL) {
		const char *e = strstr(b + 11, "-----");

		if (e == NULL)
			return false;
		if ((size_t)(e - b - 11) >= strlen(what) &&
		    memcmp(e - strlen(what), what, strlen(what)) == 0)
			return true;
		b = strstr(e, "-----BEGIN ");
	}
	return false;
}

enum pem_kind { PEM_CERT, PEM_KEY };

static bool
pem_ok(const char *buf, size_t len, enum pem_kind kind)
{
	if (memchr(buf, '\0', len) != NULL)
		return false;
	return kind == PEM_CERT ? has_pem(buf, "CERTIFICATE") : has_pem(buf, "PRIVATE KEY");
}

/* A PEM file: resolved against dir, readable, of the right kind. */
static int
check_pem_file(const char *what, const char *dir, const char *p, enum pem_kind kind,
		char **out, char *err, size_t errlen)
{
	char *full = join_path(dir, p), *buf, e2[384];
	size_t len;
	int rc;

	if (full == NULL) {
		lb_kapi_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = lb_kapi_read_file(full, &buf, &len, e2, sizeof(e2));
	if (rc < 0) {
		lb_kapi_set_err(err, errlen, "%s: %s", what, e2);
		free(full);
		return rc;
	}
	if (!pem_ok(buf, len, kind)) {
		lb_kapi_set_err(err, errlen, "%s %s is not a PEM %s", what, full,
			kind == PEM_CERT ? "certificate" : "private key");
		free(buf);
		free(full);
		return -EINVAL;
	}
	free(buf);
	*out = full;
	return 0;
}

static int
decode_pem_data(const char *path, const char *what, const char *b64, enum pem_kind kind,
		char **out, size_t *out_len, char *err, size_t errlen)
{
	int rc = lb_kapi_base64_decode(b64, strlen(b64), out, out_len);

	if (rc == -ENOMEM) {
		lb_kapi_set_err(err, errlen, "out of memory");
		return rc;
	}
	if (rc < 0) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: %s is not valid base64", path, what);
		return rc;
	}
	if (!pem_ok(*out, *out_len, kind)) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: %s does not hold a PEM %s", path, what,
			kind == PEM_CERT ? "certificate" : "private key");
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

static int
check_server(struct lb_kapi_conf *c, const char *where, const char *server, char *err, size_t errlen)
{
	size_t len;

	if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0) {
		lb_kapi_set_err(err, errlen, "%s: server \"%s\" is not an http:// or https:// URL", where, server);
		return -EINVAL;
	}
	if (strpbrk(server, " \t\r\n?#") != NULL || server[server[4] == 's' ? 8 : 7] == '\0') {
		lb_kapi_set_err(err, errlen, "%s: server \"%s\" is not a valid URL", where, server);
		return -EINVAL;
	}
	c->server = strdup(server);
	if (c->server == NULL)
		return -ENOMEM;
	len = strlen(c->server);
	while (len > 0 && c->server[len - 1] == '/')
		c->server[--len] = '\0';
	if (strncmp(server, "http://", 7) == 0)
		return add_warning(c, "server %s is plain HTTP: credentials travel unencrypted",
				c->server);
	return 0;
}

static int
load_cluster(struct lb_kapi_conf *c, const char *path, const char *dir, const char *name,
		struct json_object *cl, char *err, size_t errlen)
{
	const char *server, *ca, *ca_data, *proxy, *sni;
	char what[128];
	int rc;

	if (lb_kapi_opt_str(cl, "server", &server) < 0 || lb_kapi_opt_str(cl, "certificate-authority", &ca) < 0 ||
	    lb_kapi_opt_str(cl, "certificate-authority-data", &ca_data) < 0 ||
	    lb_kapi_opt_str(cl, "proxy-url", &proxy) < 0 || lb_kapi_opt_str(cl, "tls-server-name", &sni) < 0) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: cluster \"%s\": a setting that must be a string is not",
			path, name);
		return -EINVAL;
	}
	if (lb_kapi_opt_bool(cl, "insecure-skip-tls-verify", &c->insecure) < 0) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: cluster \"%s\": insecure-skip-tls-verify is not a boolean",
			path, name);
		return -EINVAL;
	}
	if (server == NULL) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: cluster \"%s\" has no server", path, name);
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "kubeconfig %s: cluster \"%s\"", path, name);
	rc = check_server(c, what, server, err, errlen);
	if (rc < 0)
		return rc;
	if (c->insecure && (ca != NULL || ca_data != NULL)) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: cluster \"%s\" sets both a certificate authority and insecure-skip-tls-verify",
			path, name);
		return -EINVAL;
	}
	if (c->insecure) {
		rc = add_warning(c, "cluster \"%s\" sets insecure-skip-tls-verify: the API server's certificate is not verified",
				name);
		if (rc < 0)
			return rc;
	}
	if (ca_data != NULL) {
		/* kubectl lets -data win over the file */
		snprintf(what, sizeof(what), "cluster \"%s\" certificate-authority-data", name);
		rc = decode_pem_data(path, what, ca_data, PEM_CERT, &c->ca_data, &c->ca_len, err, errlen);
	} else if (ca != NULL) {
		snprintf(what, sizeof(what), "kubeconfig %s: cluster \"%s\" certificate-authority",
			path, name);
		rc = check_pem_file(what, dir, ca, PEM_CERT, &c->ca_file, err, errlen);
	}
	if (rc < 0)
		return rc;
	if (proxy != NULL) {
		c->proxy = strdup(proxy);
		if (c->proxy == NULL)
			return -ENOMEM;
	}
	if (sni != NULL)
		return add_warning(c, "cluster \"%s\": tls-server-name is not supported and is ignored",
				name);
	return 0;
}

static int
load_user(struct lb_kapi_conf *c, const char *path, const char *dir, const char *name,
		struct json_object *u, char *err, size_t errlen)
{
	const char *token, *token_file, *cert, *cert_data, *key, *key_data, *user, *pass;
	struct json_object *exec = NULL, *ap = NULL;
	char what[128];
	bool have_cert, have_key;
	int rc = 0;

	if (lb_kapi_opt_str(u, "token", &token) < 0 || lb_kapi_opt_str(u, "tokenFile", &token_file) < 0 ||
	    lb_kapi_opt_str(u, "client-certificate", &cert) < 0 ||
	    lb_kapi_opt_str(u, "client-certificate-data", &cert_data) < 0 ||
	    lb_kapi_opt_str(u, "client-key", &key) < 0 || lb_kapi_opt_str(u, "client-key-data", &key_data) < 0 ||
	    lb_kapi_opt_str(u, "username", &user) < 0 || lb_kapi_opt_str(u, "password", &pass) < 0) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: user \"%s\": a setting that must be a string is not",
			path, name);
		return -EINVAL;
	}
	json_object_object_get_ex(u, "exec", &exec);
	json_object_object_get_ex(u, "auth-provider", &ap);
	have_cert = cert != NULL || cert_data != NULL;
	have_key = key != NULL || key_data != NULL;
	if (token == NULL && token_file == NULL && !have_cert) {
		if (exec != NULL || ap != NULL || user != NULL) {
			lb_kapi_set_err(err, errlen, "kubeconfig %s: user \"%s\" authenticates with %s, which lbd does not support; give it a token, tokenFile or client certificate",
				path, name, exec ? "an exec credential plugin" :
				ap ? "an auth-provider" : "a username and password");
			return -ENOTSUP;
		}
	} else if (exec != NULL || ap != NULL || user != NULL) {
		rc = add_warning(c, "user \"%s\": %s ignored", name,
				exec ? "exec credential plugin" : ap ? "auth-provider" : "username/password");
		if (rc < 0)
			return rc;
	}
	if (have_cert != have_key) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: user \"%s\" has a client %s but no %s", path, name,
			have_cert ? "certificate" : "key", have_cert ? "client-key" : "client-certificate");
		return -EINVAL;
	}
	if (token != NULL) {
		c->token = strdup(token);
		if (c->token == NULL)
			return -ENOMEM;
		if (lb_kapi_token_check(c->token) < 0) {
			lb_kapi_set_err(err, errlen, "kubeconfig %s: user \"%s\": token holds characters a bearer token cannot have",
				path, name);
			return -EINVAL;
		}
	}
	if (token_file != NULL) {
		struct lb_kapi_token t;
		char e2[384];

		c->token_file = join_path(dir, token_file);
		if (c->token_file == NULL || lb_kapi_token_init(&t, c->token_file) < 0)
			return -ENOMEM;
		rc = lb_kapi_token_refresh(&t, true, e2, sizeof(e2));
		lb_kapi_token_fini(&t);
		if (rc < 0) {
			lb_kapi_set_err(err, errlen, "kubeconfig %s: user \"%s\": %s", path, name, e2);
			return rc;
		}
		rc = 0;
	}
	if (cert_data != NULL) {
		snprintf(what, sizeof(what), "user \"%s\" client-certificate-data", name);
		rc = decode_pem_data(path, what, cert_data, PEM_CERT, &c->cert_data, &c->cert_len,
				err, errlen);
	} else if (cert != NULL) {
		snprintf(what, sizeof(what), "kubeconfig %s: user \"%s\" client-certificate", path, name);
		rc = check_pem_file(what, dir, cert, PEM_CERT, &c->cert_file, err, errlen);
	}
	if (rc < 0)
		return rc;
	if (key_data != NULL) {
		snprintf(what, sizeof(what), "user \"%s\" client-key-data", name);
		rc = decode_pem_data(path, what, key_data, PEM_KEY, &c->key_data, &c->key_len,
				err, errlen);
	} else if (key != NULL) {
		snprintf(what, sizeof(what), "kubeconfig %s: user \"%s\" client-key", path, name);
		rc = check_pem_file(what, dir, key, PEM_KEY, &c->key_file, err, errlen);
	}
	return rc;
}

static int
load_kubeconfig(struct lb_kapi_conf *c, const char *path, const char *dir, struct json_object *root,
		const char *context, char *err, size_t errlen)
{
	struct json_object *ctx, *cl, *u;
	const char *name = context, *cluster, *user, *ns;
	int rc;

	if (!json_object_is_type(root, json_type_object)) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: not a kubeconfig (the top level is not a mapping)",
			path);
		return -EINVAL;
	}
	if (name == NULL || name[0] == '\0') {
		if (lb_kapi_opt_str(root, "current-context", &name) < 0 || name == NULL) {
			lb_kapi_set_err(err, errlen, "kubeconfig %s: no current-context, and no context was named",
				path);
			return -EINVAL;
		}
	}
	rc = find_named(path, root, "contexts", "context", name, &ctx, err, errlen);
	if (rc < 0)
		return rc;
	if (lb_kapi_opt_str(ctx, "cluster", &cluster) < 0 || lb_kapi_opt_str(ctx, "user", &user) < 0 ||
	    lb_kapi_opt_str(ctx, "namespace", &ns) < 0) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: context \"%s\": cluster, user and namespace must be strings",
			path, name);
		return -EINVAL;
	}
	if (cluster == NULL) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: context \"%s\" names no cluster", path, name);
		return -EINVAL;
	}
	c->context = strdup(name);
	if (asprintf(&c->source, "kubeconfig %s, context %s", path, name) < 0)
		c->source = NULL;
	if (c->context == NULL || c->source == NULL || (ns && (c->namespace = strdup(ns)) == NULL))
		return -ENOMEM;
	rc = find_named(path, root, "clusters", "cluster", cluster, &cl, err, errlen);
	if (rc < 0)
		return rc;
	rc = load_cluster(c, path, dir, cluster, cl, err, errlen);
	if (rc < 0 || user == NULL)
		return rc;
	rc = find_named(path, root, "users", "user", user, &u, err, errlen);
	if (rc < 0)
		return rc;
	return load_user(c, path, dir, user, u, err, errlen);
}

int
lb_kapi_conf_load_kubeconfig(struct lb_kapi_conf *c, const char *path, const char *context,
		char *err, size_t errlen)
{
	struct json_object *root = NULL;
	char *buf, *dir, *slash;
	size_t len;
	int rc;

	memset(c, 0, sizeof(*c));
	if (path == NULL || path[0] == '\0') {
		lb_kapi_set_err(err, errlen, "no kubeconfig path");
		return -EINVAL;
	}
	rc = lb_kapi_read_file(path, &buf, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = lb_kapi_parse_doc(path, buf, len, &root, err, errlen);
	free(buf);
	if (rc < 0)
		return rc;
	dir = strdup(path);
	if (dir == NULL) {
		json_object_put(root);
		return -ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL) {
		free(dir);
		dir = NULL;	/* relative to the working directory, as given */
	} else {
		slash[slash == dir ? 1 : 0] = '\0';
	}
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rc = load_kubeconfig(c, path, dir, root, context, err, errlen);
	free(dir);
	json_object_put(root);
	if (rc < 0) {
		if (err != NULL && errlen > 0 && err[0] == '\0')
			lb_kapi_set_err(err, errlen, "kubeconfig %s: %s", path, strerror(-rc));
		lb_kapi_conf_free(c);
	}
	return rc;
}

int
lb_kapi_conf_load_in_cluster(struct lb_kapi_conf *c, const char *root, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char *p = NULL, *buf, e2[384];
	struct lb_kapi_token t;
	size_t len;
	int rc;

	memset(c, 0, sizeof(*c));
	if (root == NULL)
		root = "";
	if (host == NULL || host[0] == '\0' || port == NULL || port[0] == '\0') {
		lb_kapi_set_err(err, errlen, "not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (give a kubeconfig instead)");
		return -ENOENT;
	}
	if (strspn(port, "0123456789") != strlen(port) || atoi(port) < 1 || atoi(port) > 65535 ||
	    strpbrk(host, "/ ?#@[]") != NULL) {
		lb_kapi_set_err(err, errlen, "in-cluster: bad KUBERNETES_SERVICE_HOST/PORT \"%s\" \"%s\"",
			host, port);
		return -EINVAL;
	}
	c->server = lb_kapi_dupf(strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	c->source = strdup("in-cluster");
	c->token_file = lb_kapi_dupf("%s%s/token", root, SA_DIR);
	p = lb_kapi_dupf("%s%s/ca.crt", root, SA_DIR);
	if (c->server == NULL || c->source == NULL || c->token_file == NULL || p == NULL ||
	    lb_kapi_token_init(&t, c->token_file) < 0) {
		lb_kapi_set_err(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	rc = lb_kapi_token_refresh(&t, true, e2, sizeof(e2));
	lb_kapi_token_fini(&t);
	if (rc < 0) {
		lb_kapi_set_err(err, errlen, "in-cluster: %s", e2);
		goto fail;
	}
	rc = check_pem_file("in-cluster: CA", NULL, p, PEM_CERT, &c->ca_file, err, errlen);
	free(p);
	p = NULL;
	if (rc < 0)
		goto fail;
	/* optional: only for information */
	p = lb_kapi_dupf("%s%s/namespace", root, SA_DIR);
	if (p != NULL && lb_kapi_read_file(p, &buf, &len, e2, sizeof(e2)) == 0) {
		buf[strcspn(buf, " \t\r\n")] = '\0';
		if (buf[0] != '\0')
			c->namespace = buf;
		else
			free(buf);
	}
	free(p);
	return 0;
fail:
	free(p);
	lb_kapi_conf_free(c);
	return rc;
}

int
lb_kapi_conf_load(struct lb_kapi_conf *c, const char *kubeconfig, const char *context,
		char *err, size_t errlen)
{
	if (kubeconfig != NULL && kubeconfig[0] != '\0')
		return lb_kapi_conf_load_kubeconfig(c, kubeconfig, context, err, errlen);
	return lb_kapi_conf_load_in_cluster(c, "", err, errlen);
}

static int
dup_str(char **d, const char *s)
{
	*d = NULL;
	if (s == NULL)
		return 0;
	*d = strdup(s);
	return *d ? 0 : -ENOMEM;
}

static int
dup_mem(char **d, const char *s, size_t len)
{
	*d = NULL;
	if (s == NULL)
		return 0;
	*d = malloc(len + 1);
	if (*d == NULL)
		return -ENOMEM;
	memcpy(*d, s, len);
	(*d)[len] = '\0';
	return 0;
}

int
lb_kapi_conf_copy(struct lb_kapi_conf *d, const struct lb_kapi_conf *s)
{
	memset(d, 0, sizeof(*d));
	d->insecure = s->insecure;
	d->ca_len = s->ca_len;
	d->cert_len = s->cert_len;
	d->key_len = s->key_len;
	if (dup_str(&d->server, s->server) < 0 || dup_str(&d->source, s->source) < 0 ||
	    dup_str(&d->context, s->context) < 0 || dup_str(&d->namespace, s->namespace) < 0 ||
	    dup_str(&d->ca_file, s->ca_file) < 0 || dup_mem(&d->ca_data, s->ca_data, s->ca_len) < 0 ||
	    dup_str(&d->token, s->token) < 0 || dup_str(&d->token_file, s->token_file) < 0 ||
	    dup_str(&d->cert_file, s->cert_file) < 0 ||
	    dup_mem(&d->cert_data, s->cert_data, s->cert_len) < 0 ||
	    dup_str(&d->key_file, s->key_file) < 0 ||
	    dup_mem(&d->key_data, s->key_data, s->key_len) < 0 ||
	    dup_str(&d->proxy, s->proxy) < 0 || dup_str(&d->warnings, s->warnings) < 0) {
		lb_kapi_conf_free(d);
		return -ENOMEM;
	}
	return 0;
}
