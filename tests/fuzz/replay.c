/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Corpus replayer for builds without libFuzzer: runs the target once over
 * every file named on the command line, and over every file in every
 * directory named (not recursively). Each input is copied to a buffer of
 * exactly its size, so ASan sees any read past it. Exit 0 when all ran.
 */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX	(1u << 20)

__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf, *copy;
	size_t n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	buf = malloc(REPLAY_MAX);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, REPLAY_MAX, f);
	fclose(f);
	copy = malloc(n ? n : 1);
	if (copy == NULL) {
		free(buf);
		return -1;
	}
	memcpy(copy, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned runs = 0;
	int i;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		struct stat st;
		struct dirent *de;
		DIR *d;

		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) != 0)
				return 1;
			runs++;
			continue;
		}
		d = opendir(argv[i]);
		if (d == NULL) {
			perror(argv[i]);
			return 1;
		}
		while ((de = readdir(d)) != NULL) {
			char path[4096];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			if (run_file(path) != 0) {
				closedir(d);
				return 1;
			}
			runs++;
		}
		closedir(d);
	}
	printf("%s: %u input(s) replayed\n", argv[0], runs);
	return 0;
}
