/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_CTL_PRIV_H
#define LB_CTL_PRIV_H

/* Shared by lb_ctl.c (server) and lb_ctl_client.c; not installed. */
#include <sys/un.h>
#include <json-c/json.h>

#include "lb_common.h"

/* One line per request and response: plain JSON escapes newlines inside
 * strings; "/" stays readable (CIDRs, paths). */
#define LB_CTL_SER_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void lb_ctl_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fills a sockaddr_un for path; -ENAMETOOLONG if empty or too long. */
int lb_ctl_fill_addr(struct sockaddr_un *sa, const char *path);

#endif /* LB_CTL_PRIV_H */
