/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration documents: small files read whole, YAML (libyaml) or JSON
 * (json-c) turned into one json-c tree, and typed access to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <yaml.h>

#include "lb_kapi_priv.h"

#define CONF_FILE_MAX	(4u << 20)	/* kubeconfigs, certificates, keys */
#define YAML_DEPTH_MAX	64
#define YAML_NODES_MAX	100000		/* bounds alias expansion ("billion laughs") */

void
lb_kapi_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
lb_kapi_read_file(const char *path, char **out, size_t *out_len, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n = 0;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		lb_kapi_set_err(err, errlen, "cannot read %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		lb_kapi_set_err(err, errlen, "cannot read %s: not a regular file", path);
		return -EINVAL;
	}
	if ((size_t)st.st_size > CONF_FILE_MAX) {
		close(fd);
		lb_kapi_set_err(err, errlen, "%s is larger than %u bytes", path, CONF_FILE_MAX);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		lb_kapi_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	e = errno;
	close(fd);
	if (len < (size_t)st.st_size && n < 0) {
		free(buf);
		lb_kapi_set_err(err, errlen, "cannot read %s: %s", path, strerror(e));
		return -e;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

/* --- YAML to json-c --- */

struct yconv {
	yaml_document_t *doc;
	size_t nodes;
};

static bool
yaml_is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
		strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/*
 * Scalars become strings (or null); booleans are read from strings by
 * lb_kapi_opt_bool(), and nothing in a kubeconfig that lbd reads is a number. Returns
 * 0 and *out (possibly NULL for a null scalar), or -EINVAL.
 */
static int
yaml_to_json(struct yconv *yc, yaml_node_t *n, int depth, struct json_object **out)
{
	struct json_object *o;
	int rc;

	*out = NULL;
	if (n == NULL || depth > YAML_DEPTH_MAX || ++yc->nodes > YAML_NODES_MAX)
		return -EINVAL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		if (yaml_is_null(n))
			return 0;
		*out = json_object_new_string_len((const char *)n->data.scalar.value,
				(int)n->data.scalar.length);
		return *out ? 0 : -ENOMEM;
	case YAML_SEQUENCE_NODE: {
		yaml_node_item_t *it;

		o = json_object_new_array();
		if (o == NULL)
			return -ENOMEM;
		for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			struct json_object *v;

			rc = yaml_to_json(yc, yaml_document_get_node(yc->doc, *it), depth + 1, &v);
			if (rc < 0 || json_object_array_add(o, v) < 0) {
				json_object_put(v);
				json_object_put(o);
				return rc < 0 ? rc : -ENOMEM;
			}
		}
		*out = o;
		return 0;
	}
	case YAML_MAPPING_NODE: {
		yaml_node_pair_t *p;

		o = json_object_new_object();
		if (o == NULL)
			return -ENOMEM;
		for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(yc->doc, p->key);
			struct json_object *v;

			if (k == NULL || k->type != YAML_SCALAR_NODE) {
				json_object_put(o);
				return -EINVAL;
			}
			rc = yaml_to_json(yc, yaml_document_get_node(yc->doc, p->value), depth + 1, &v);
			if (rc < 0 || json_object_object_add(o, (const char *)k->data.scalar.value, v) < 0) {
				json_object_put(v);
				json_object_put(o);
				return rc < 0 ? rc : -ENOMEM;
			}
		}
		*out = o;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

static int
parse_yaml(const char *path, const char *buf, size_t len, struct json_object **out,
		char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct yconv yc = { .doc = &doc };
	int rc;

	if (!yaml_parser_initialize(&parser)) {
		lb_kapi_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		lb_kapi_set_err(err, errlen, "%s:%zu:%zu: invalid YAML: %s%s%s", path,
			parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			parser.problem ? parser.problem : "syntax error",
			parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		lb_kapi_set_err(err, errlen, "%s: empty file", path);
		rc = -EINVAL;
	} else {
		rc = yaml_to_json(&yc, root, 0, out);
		if (rc == -EINVAL)
			lb_kapi_set_err(err, errlen, "%s: unsupported YAML (non-scalar key, too deep or too many nodes)",
				path);
		else if (rc < 0)
			lb_kapi_set_err(err, errlen, "out of memory");
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

static int
parse_json(const char *path, const char *buf, size_t len, struct json_object **out,
		char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new_ex(YAML_DEPTH_MAX);
	struct json_object *o;
	size_t end, line = 1, col = 1, i;

	if (tok == NULL) {
		lb_kapi_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len + 1);	/* the NUL ends the input */
	end = json_tokener_get_parse_end(tok);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		for (i = 0; i < end && i < len; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		lb_kapi_set_err(err, errlen, "%s:%zu:%zu: invalid JSON: %s", path, line, col,
			o == NULL && json_tokener_get_error(tok) == json_tokener_success ?
			"null document" : json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	*out = o;
	return 0;
}

/* --- typed access --- */

/* 0 with *out the string (NULL when absent or null), or -EINVAL when the
 * value is not a string. */
int
lb_kapi_opt_str(struct json_object *o, const char *key, const char **out)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	*out = json_object_get_string(v);
	if ((*out)[0] == '\0')
		*out = NULL;
	return 0;
}

int
lb_kapi_opt_bool(struct json_object *o, const char *key, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N" };
	struct json_object *v;
	const char *s;
	size_t i;

	*out = false;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_boolean)) {
		*out = json_object_get_boolean(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	for (i = 0; i < LB_ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0)
			return 0;
	}
	return -EINVAL;
}

int
lb_kapi_parse_doc(const char *path, const char *buf, size_t len, struct json_object **out,
		char *err, size_t errlen)
{
	size_t i = 0;

	if (memchr(buf, '\0', len) != NULL) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: binary data (NUL byte)", path);
		return -EINVAL;
	}
	while (i < len && strchr(" \t\r\n", buf[i]) != NULL)
		i++;
	if (i == len) {
		lb_kapi_set_err(err, errlen, "kubeconfig %s: empty file", path);
		return -EINVAL;
	}
	/* JSON is valid YAML, but json-c's messages are exact for JSON */
	if (buf[i] == '{')
		return parse_json(path, buf, len, out, err, errlen);
	return parse_yaml(path, buf, len, out, err, errlen);
}
