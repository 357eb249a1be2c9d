/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_EV_CURL_H
#define LB_EV_CURL_H

/*
 * libcurl's multi interface on an lb_ev loop: curl says which sockets to
 * watch (CURLMOPT_SOCKETFUNCTION) and when to be called back
 * (CURLMOPT_TIMERFUNCTION); the loop does the waiting, so no thread ever
 * blocks on the network. One binding per multi handle; its owner adds and
 * removes easy handles on lb_ev_curl_multi() as usual, and after(ctx) runs
 * after every socket or timeout action curl took, for the owner to collect
 * finished transfers (curl_multi_info_read).
 */
#include <curl/curl.h>

#include "lb_ev.h"

struct lb_ev_curl;

/* A multi handle on ev. NULL when out of memory. */
struct lb_ev_curl *lb_ev_curl_new(struct lb_ev *ev, void (*after)(void *ctx), void *ctx);

CURLM *lb_ev_curl_multi(const struct lb_ev_curl *c);

/* Cleans the multi handle up (its sockets leave the loop) and frees c.
 * NULL is a no-op. */
void lb_ev_curl_free(struct lb_ev_curl *c);

#endif /* LB_EV_CURL_H */
