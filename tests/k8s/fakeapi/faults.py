# SPDX-License-Identifier: BSD-3-Clause
"""Injected faults: what they match and how often they fire."""
import time

REQUEST_ACTIONS = ("error", "delay", "hang", "close", "garbage")
STREAM_ACTIONS = ("split", "drip", "stream-hang", "stream-close", "stream-garbage", "stream-error")


class Fault:
    def __init__(self, fid, action, match, count, params):
        if action not in REQUEST_ACTIONS + STREAM_ACTIONS:
            raise ValueError("unknown fault action %r (one of %s)"
                             % (action, ", ".join(REQUEST_ACTIONS + STREAM_ACTIONS)))
        self.id, self.action, self.match, self.count, self.params = fid, action, match, count, params
        self.hits = 0
        self.added = time.time()

    def matches(self, ctx):
        for k, v in self.match.items():
            have = ctx.get(k)
            if k == "path":
                if not (have or "").startswith(v):
                    return False
            elif k == "user_agent":
                if v not in (have or ""):
                    return False
            elif k == "resource":
                if v not in (have, ctx.get("group_resource")):
                    return False
            elif have != v:
                return False
        return True

    def take(self):
        """Consume one application; False when used up."""
        if self.count is not None and self.hits >= self.count:
            return False
        self.hits += 1
        return True

    def describe(self):
        return {"id": self.id, "action": self.action, "match": self.match, "count": self.count,
                "hits": self.hits, "params": self.params}
