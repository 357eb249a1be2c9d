/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_FUZZ_H
#define LB_FUZZ_H

/*
 * Shared by the fuzz targets. Each defines LLVMFuzzerTestOneInput (and may
 * define LLVMFuzzerInitialize). Built with clang and -fsanitize=fuzzer they
 * are libFuzzer binaries (make fuzz); built otherwise they link replay.c and
 * run the target over the files and directories named on the command line
 * (the committed corpora and regression inputs, in make test-unit).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant: report and abort, so libFuzzer keeps the input. */
#define CHECK(c) do { \
	if (!(c)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
		abort(); \
	} \
} while (0)

#endif /* LB_FUZZ_H */
