/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/kapi building blocks: the NDJSON splitter, retry delays, the token file
 * watcher, base64. */
#include <errno.h>
#include <fcntl.h>
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

#include "lb_kapi_util.h"

/* --- a watch stream shaped like kube-apiserver's --- */

static const char *const events[] = {
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Service\",\"apiVersion\":\"v1\","
	"\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"7d3c5e1a-1b2c-4d5e-8f90-0a1b2c3d4e5f\","
	"\"resourceVersion\":\"1042\",\"creationTimestamp\":\"2024-05-01T10:00:00Z\","
	"\"labels\":{\"app\":\"web\"},\"annotations\":{\"note\":\"caf\\u00e9 \\ud83d\\ude00 \xc3\xbc \\\"q\\\" \\\\ \\/ \\n\"},"
	"\"managedFields\":[{\"manager\":\"kubectl-client-side-apply\",\"operation\":\"Update\",\"apiVersion\":\"v1\","
	"\"time\":\"2024-05-01T10:00:00Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:ports\":"
	"{\".\":{},\"k:{\\\"port\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:name\":{}}}}}}]},"
	"\"spec\":{\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":8080,\"nodePort\":30080}],"
	"\"selector\":{\"app\":\"web\"},\"clusterIP\":\"10.96.0.10\",\"clusterIPs\":[\"10.96.0.10\"],"
	"\"type\":\"LoadBalancer\",\"sessionAffinity\":\"None\",\"externalTrafficPolicy\":\"Cluster\","
	"\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\",\"allocateLoadBalancerNodePorts\":true,"
	"\"internalTrafficPolicy\":\"Cluster\"},\"status\":{\"loadBalancer\":{}}}}\n",
	"{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\","
	"\"metadata\":{\"name\":\"web-x2k9f\",\"generateName\":\"web-\",\"namespace\":\"default\","
	"\"resourceVersion\":\"1043\",\"generation\":3,\"labels\":{\"kubernetes.io/service-name\":\"web\","
	"\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\"},"
	"\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"name\":\"web\",\"uid\":\"7d3c\","
	"\"controller\":true,\"blockOwnerDeletion\":true}]},\"addressType\":\"IPv4\","
	"\"endpoints\":[{\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true,\"serving\":true,"
	"\"terminating\":false},\"nodeName\":\"n1\",\"targetRef\":{\"kind\":\"Pod\",\"name\":\"web-1\"}},"
	"{\"addresses\":[\"10.244.2.7\"],\"conditions\":{\"ready\":false,\"serving\":true,\"terminating\":true}}],"
	"\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080}]}}\r\n",
	"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\",\"apiVersion\":\"v1\","
	"\"metadata\":{\"resourceVersion\":\"1050\",\"creationTimestamp\":null},\"spec\":{},\"status\":{\"loadBalancer\":{}}}}\n",
	"\n  \n",	/* blank lines between events are tolerated */
	"{\"type\":\"DELETED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\","
	"\"resourceVersion\":\"1051\",\"deletionTimestamp\":\"2024-05-01T10:05:00Z\"},\"spec\":{\"podCIDR\":\"10.244.1.0/24\"},"
	"\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],\"addresses\":"
	"[{\"type\":\"InternalIP\",\"address\":\"192.168.1.11\"}],\"capacity\":{\"cpu\":\"2\",\"memory\":\"4030180Ki\"},"
	"\"weight\":-1.5e3,\"big\":123456789012345}}}\n",
	"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
	"\"status\":\"Failure\",\"message\":\"too old resource version: 1 (1042)\",\"reason\":\"Expired\",\"code\":410}}\n",
};

/* the stream, and each event re-serialised by json-c as the reference */
static char *stream;
static size_t stream_len;
static char *expect[16];
static int n_expect;

static int
setup_stream(void **state)
{
	size_t i, off = 0;

	(void)state;
	stream_len = 0;
	for (i = 0; i < LB_ARRAY_SIZE(events); i++)
		stream_len += strlen(events[i]);
	stream = malloc(stream_len + 1);
	n_expect = 0;
	for (i = 0; i < LB_ARRAY_SIZE(events); i++) {
		struct json_object *o;

		memcpy(stream + off, events[i], strlen(events[i]));
		off += strlen(events[i]);
		if (events[i][strspn(events[i], " \r\n")] == '\0')
			continue;
		o = json_tokener_parse(events[i]);
		assert_non_null(o);
		expect[n_expect++] = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	stream[stream_len] = '\0';
	return 0;
}

static int
teardown_stream(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < n_expect; i++)
		free(expect[i]);
	free(stream);
	return 0;
}

/* Feeds the stream cut at cuts[0..ncuts) (sorted offsets) and checks the
 * events come out whole and in order. */
static void
feed_cut(const size_t *cuts, int ncuts)
{
	struct lb_kapi_ndjson s;
	size_t start = 0;
	int got = 0, c;

	assert_int_equal(lb_kapi_ndjson_init(&s, 0), 0);
	for (c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : stream_len, off = start;

		while (off < end) {
			struct json_object *o;
			ssize_t n = lb_kapi_ndjson_feed(&s, stream + off, end - off, &o);

			if (n <= 0)
				fail_msg("n %zd at %zu (chunk %zu..%zu): %s: \"%.40s\"", n, off, start, end,
					json_tokener_error_desc(json_tokener_get_error(s.tok)), stream + off);
			off += (size_t)n;
			if (o != NULL) {
				assert_true(got < n_expect);
				assert_string_equal(json_object_to_json_string_ext(o,
						JSON_C_TO_STRING_PLAIN), expect[got]);
				got++;
				json_object_put(o);
			}
		}
		start = end;
	}
	assert_int_equal(got, n_expect);
	assert_false(lb_kapi_ndjson_pending(&s));
	lb_kapi_ndjson_fini(&s);
}

static void
test_ndjson_every_split(void **state)
{
	size_t i;

	(void)state;
	feed_cut(NULL, 0);
	for (i = 1; i < stream_len; i++)
		feed_cut(&i, 1);
}

static void
test_ndjson_byte_by_byte(void **state)
{
	size_t *cuts = malloc(sizeof(*cuts) * stream_len), i;

	(void)state;
	for (i = 1; i < stream_len; i++)
		cuts[i - 1] = i;
	feed_cut(cuts, (int)stream_len - 1);
	free(cuts);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_ndjson_random_splits(void **state)
{
	uint64_t rng = 42;
	size_t cuts[12];
	int round, i, n;

	(void)state;
	for (round = 0; round < 2000; round++) {
		n = (int)(lb_kapi_rand(&rng) % LB_ARRAY_SIZE(cuts));
		for (i = 0; i < n; i++)
			cuts[i] = 1 + lb_kapi_rand(&rng) % (stream_len - 1);
		qsort(cuts, (size_t)n, sizeof(cuts[0]), cmp_size);
		feed_cut(cuts, n);
	}
}

/* Every split of "good event, garbage": the good event comes out, then an
 * error, never a crash or a bogus object. */
static void
test_ndjson_garbage(void **state)
{
	static const char *const bad[] = {
		"garbage\n", "{\"type\":\"ADDED\",\"object\":{]}\n", "[1,2]\n", "\"str\"\n",
		"42\n", "null\n", "{\"a\":tru}\n", "{\"a\":1}}\n", "{\"a\":'x'}\n", "{\"a\":1\n{\"b\":2}\n", "{,}\n",
	};
	size_t b;

	(void)state;
	for (b = 0; b < LB_ARRAY_SIZE(bad); b++) {
		char buf[1024];
		size_t len, cut;

		snprintf(buf, sizeof(buf), "%s%s", events[2], bad[b]);
		len = strlen(buf);
		for (cut = 1; cut < len; cut++) {
			struct lb_kapi_ndjson s;
			size_t off = 0;
			int good = 0, errs = 0;

			assert_int_equal(lb_kapi_ndjson_init(&s, 0), 0);
			while (off < len && errs == 0) {
				size_t end = off < cut ? cut : len;
				struct json_object *o;
				ssize_t n = lb_kapi_ndjson_feed(&s, buf + off, end - off, &o);

				if (n < 0) {
					assert_true(n == -EBADMSG || n == -EPROTO);
					errs++;
					break;
				}
				off += (size_t)n;
				if (o != NULL) {
					good++;
					json_object_put(o);
				}
			}
			/* "{"a":1}}" yields an object, then the stray brace fails */
			if (good < 1 || errs != 1)
				fail_msg("bad[%zu] cut %zu: good %d errs %d", b, cut, good, errs);
			lb_kapi_ndjson_fini(&s);
		}
	}
}

static void
test_ndjson_limits(void **state)
{
	struct lb_kapi_ndjson s;
	struct json_object *o;
	const char *big = "{\"k\":\"0123456789012345678901234567890123456789\"}\n";
	ssize_t n;

	(void)state;
	/* a value longer than the limit fails whether fed at once or in pieces */
	assert_int_equal(lb_kapi_ndjson_init(&s, 20), 0);
	assert_int_equal(lb_kapi_ndjson_feed(&s, big, strlen(big), &o), -EMSGSIZE);
	assert_null(o);
	lb_kapi_ndjson_reset(&s);
	n = lb_kapi_ndjson_feed(&s, big, 10, &o);
	assert_int_equal(n, 10);
	n = lb_kapi_ndjson_feed(&s, big + 10, 10, &o);
	assert_int_equal(n, 10);
	assert_int_equal(lb_kapi_ndjson_feed(&s, big + 20, 5, &o), -EMSGSIZE);
	/* after a reset the splitter starts afresh */
	lb_kapi_ndjson_reset(&s);
	assert_false(lb_kapi_ndjson_pending(&s));
	n = lb_kapi_ndjson_feed(&s, "  {\"a\":1}  {", 12, &o);
	assert_true(n >= 9 && n <= 11);	/* the tokener may eat the spaces after */
	assert_non_null(o);
	json_object_put(o);
	/* whitespace is not a pending value; a started one is */
	n = lb_kapi_ndjson_feed(&s, "  ", 2, &o);
	assert_int_equal(n, 2);
	assert_false(lb_kapi_ndjson_pending(&s));
	n = lb_kapi_ndjson_feed(&s, "{", 1, &o);
	assert_int_equal(n, 1);
	assert_true(lb_kapi_ndjson_pending(&s));
	lb_kapi_ndjson_fini(&s);

	/* depth is bounded */
	{
		char deep[400];
		int i;

		for (i = 0; i < 100; i++)
			deep[i] = '[';
		deep[100] = '\0';
		assert_int_equal(lb_kapi_ndjson_init(&s, 0), 0);
		assert_int_equal(lb_kapi_ndjson_feed(&s, deep, 100, &o), -EBADMSG);
		lb_kapi_ndjson_fini(&s);
	}
}

/* --- retry delays --- */

static void
test_backoff(void **state)
{
	struct lb_kapi_backoff b = { .base_ms = 500, .max_ms = 30000 };
	uint64_t rng = 7, nominal = 500;
	unsigned a;
	int i;

	(void)state;
	for (a = 0; a < 40; a++) {
		uint64_t lo = nominal / 2, hi = nominal, min = UINT64_MAX, max = 0;

		assert_int_equal(lb_kapi_backoff_ms(&b, a, 0), lo);
		assert_int_equal(lb_kapi_backoff_ms(&b, a, hi - lo), hi);
		for (i = 0; i < 2000; i++) {
			uint64_t d = lb_kapi_backoff_ms(&b, a, lb_kapi_rand(&rng));

			assert_true(d >= lo && d <= hi);
			min = LB_MIN(min, d);
			max = LB_MAX(max, d);
		}
		/* the jitter really spreads over the range */
		assert_true(min < lo + (hi - lo) / 10);
		assert_true(max > hi - (hi - lo) / 10);
		nominal = LB_MIN(nominal * 2, (uint64_t)30000);
	}
	/* huge attempt counts do not overflow */
	assert_true(lb_kapi_backoff_ms(&b, UINT32_MAX, UINT64_MAX) <= 30000);
	/* a cap below the base: the base */
	b.max_ms = 100;
	assert_true(lb_kapi_backoff_ms(&b, 3, 12345) <= 500);
	b = (struct lb_kapi_backoff){ 0, 0 };
	assert_true(lb_kapi_backoff_ms(&b, 5, 99) <= 1);

	/* Retry-After: the larger of the two, capped */
	assert_int_equal(lb_kapi_retry_delay_ms(700, -1), 700);
	assert_int_equal(lb_kapi_retry_delay_ms(700, 0), 700);
	assert_int_equal(lb_kapi_retry_delay_ms(700, 3), 3000);
	assert_int_equal(lb_kapi_retry_delay_ms(9000, 3), 9000);
	assert_int_equal(lb_kapi_retry_delay_ms(100, 1000000), LB_KAPI_RETRY_AFTER_MAX_S * 1000ull);
}

static void
test_rand(void **state)
{
	uint64_t a = 0, b = 0, x;
	int i, bits[64] = { 0 };

	(void)state;
	for (i = 0; i < 1000; i++) {
		x = lb_kapi_rand(&a);
		assert_int_equal(x, lb_kapi_rand(&b));	/* deterministic per seed */
		assert_true(a != 0);
		for (int j = 0; j < 64; j++)
			bits[j] += (int)(x >> j & 1);
	}
	for (i = 0; i < 64; i++)
		assert_true(bits[i] > 400 && bits[i] < 600);
}

/* --- the token file --- */

static char tmpdir[64];

static int
setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_kapi_util.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown_tmp(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void
test_token_changes(void **state)
{
	struct lb_kapi_token t;
	char path[128], tmp[160], err[256];
	struct stat st;
	struct timespec ts[2];

	(void)state;
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	assert_int_equal(lb_kapi_token_init(&t, path), 0);
	/* missing: an error naming the file, no token */
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_null(t.value);

	write_file(path, "  tok-one\n", 10);
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), 1);
	assert_string_equal(t.value, "tok-one");
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), 0);

	/* Rewritten in place with the same size, and the mtime put back: the
	 * file looks unchanged, so it is not read again ... */
	assert_int_equal(stat(path, &st), 0);
	write_file(path, "  tok-two\n", 10);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), 0);
	assert_string_equal(t.value, "tok-one");
	/* ... until forced (after a 401) */
	assert_int_equal(lb_kapi_token_refresh(&t, true, err, sizeof(err)), 1);
	assert_string_equal(t.value, "tok-two");
	assert_int_equal(lb_kapi_token_refresh(&t, true, err, sizeof(err)), 0);

	/* a changed mtime alone triggers a read that finds the same token */
	ts[1].tv_sec += 5;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), 0);

	/* a changed size */
	write_file(path, "tok-three", 9);
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), 1);
	assert_string_equal(t.value, "tok-three");

	/* replaced by rename (new inode), same size and mtime as before */
	assert_int_equal(stat(path, &st), 0);
	snprintf(tmp, sizeof(tmp), "%s/token.new", tmpdir);
	write_file(tmp, "tok-four!", 9);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, tmp, ts, 0), 0);
	assert_int_equal(rename(tmp, path), 0);
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), 1);
	assert_string_equal(t.value, "tok-four!");

	/* failures keep the previous token */
	write_file(path, " \n", 2);
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), -ENODATA);
	assert_non_null(strstr(err, "empty"));
	assert_string_equal(t.value, "tok-four!");
	write_file(path, "a b", 3);
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), -EINVAL);
	write_file(path, "ab\r\nX-Evil: 1", 13);
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), -EINVAL);
	write_file(path, "ab\0cd", 5);
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), -EINVAL);
	{
		char *big = malloc(LB_KAPI_TOKEN_MAX + 10);

		memset(big, 'a', LB_KAPI_TOKEN_MAX + 10);
		write_file(path, big, LB_KAPI_TOKEN_MAX + 10);
		free(big);
	}
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), -EFBIG);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(lb_kapi_token_refresh(&t, true, err, sizeof(err)), -ENOENT);
	assert_string_equal(t.value, "tok-four!");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(lb_kapi_token_refresh(&t, true, err, sizeof(err)), -EINVAL);
	assert_int_equal(rmdir(path), 0);
	lb_kapi_token_fini(&t);
}

/* kubelet's projected volume: token -> ..data/token, ..data -> ..TIMESTAMP,
 * rotation swaps ..data. */
static void
test_token_projected(void **state)
{
	struct lb_kapi_token t;
	char d1[128], d2[128], f[160], link[128], tmp[128], path[128], err[256];

	(void)state;
	snprintf(d1, sizeof(d1), "%s/..2024_05_01_10_00_00.1", tmpdir);
	snprintf(d2, sizeof(d2), "%s/..2024_05_01_11_00_00.2", tmpdir);
	snprintf(link, sizeof(link), "%s/..data", tmpdir);
	snprintf(tmp, sizeof(tmp), "%s/..data_tmp", tmpdir);
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	assert_int_equal(mkdir(d1, 0700), 0);
	assert_int_equal(mkdir(d2, 0700), 0);
	snprintf(f, sizeof(f), "%s/token", d1);
	write_file(f, "eyJhbGciOiJSUzI1NiJ9.one.sig", 28);
	snprintf(f, sizeof(f), "%s/token", d2);
	write_file(f, "eyJhbGciOiJSUzI1NiJ9.two.sig", 28);	/* same size */
	assert_int_equal(symlink("..2024_05_01_10_00_00.1", link), 0);
	assert_int_equal(symlink("..data/token", path), 0);

	assert_int_equal(lb_kapi_token_init(&t, path), 0);
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), 1);
	assert_string_equal(t.value, "eyJhbGciOiJSUzI1NiJ9.one.sig");
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), 0);
	assert_int_equal(symlink("..2024_05_01_11_00_00.2", tmp), 0);
	assert_int_equal(rename(tmp, link), 0);
	assert_int_equal(lb_kapi_token_refresh(&t, false, err, sizeof(err)), 1);
	assert_string_equal(t.value, "eyJhbGciOiJSUzI1NiJ9.two.sig");
	lb_kapi_token_fini(&t);
}

static void
test_token_check(void **state)
{
	char a[] = "\t abc.def-_~+/=\r\n", b[] = "   ", c[] = "ab\x01", d[] = "caf\xc3\xa9";

	(void)state;
	assert_int_equal(lb_kapi_token_check(a), 0);
	assert_string_equal(a, "abc.def-_~+/=");
	assert_int_equal(lb_kapi_token_check(b), -EINVAL);
	assert_int_equal(lb_kapi_token_check(c), -EINVAL);
	assert_int_equal(lb_kapi_token_check(d), -EINVAL);
}

/* --- base64 --- */

static void
test_base64(void **state)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9v", "foo" },
		{ "Zm9vYg==", "foob" }, { "Zm9vYmE=", "fooba" }, { "Zm9vYmFy", "foobar" },
		{ "Zm9v\nYmFy\n", "foobar" }, { "Zm9vYg", "foob" },
		{ "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t", "-----BEGIN CERTIFICATE-----" },
	};
	static const char *const bad[] = { "Zm9v!", "Z", "Zm9vY", "Zh==", "Zm=9v", "Zg===", "Zm8=Zm8=" };
	size_t i, len;
	char *out;

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(good); i++) {
		assert_int_equal(lb_kapi_base64_decode(good[i].in, strlen(good[i].in), &out, &len), 0);
		assert_int_equal(len, strlen(good[i].out));
		assert_memory_equal(out, good[i].out, len);
		assert_int_equal(out[len], '\0');
		free(out);
	}
	for (i = 0; i < LB_ARRAY_SIZE(bad); i++)
		assert_int_equal(lb_kapi_base64_decode(bad[i], strlen(bad[i]), &out, &len), -EINVAL);
	/* binary round trip */
	assert_int_equal(lb_kapi_base64_decode("AP8Afw==", 8, &out, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "\x00\xff\x00\x7f", 4);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ndjson_every_split, setup_stream, teardown_stream),
		cmocka_unit_test_setup_teardown(test_ndjson_byte_by_byte, setup_stream, teardown_stream),
		cmocka_unit_test_setup_teardown(test_ndjson_random_splits, setup_stream, teardown_stream),
		cmocka_unit_test(test_ndjson_garbage),
		cmocka_unit_test(test_ndjson_limits),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_rand),
		cmocka_unit_test_setup_teardown(test_token_changes, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_token_projected, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_token_check),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
