#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The README documents every Prometheus metric lbd can export: each family of
the counter lists (lib/stats/lb_stats.h, lb_stats_sets.h) and each family lb_prom.c writes by
itself, and names no family that does not exist.
usage: check-metrics-doc.py SOURCE_ROOT"""

import re
import sys
from pathlib import Path

root = Path(sys.argv[1])
header = (root / "lib/stats/lb_stats.h").read_text() + \
    (root / "lib/stats/lb_stats_sets.h").read_text()
prom_c = (root / "lib/stats/lb_prom.c").read_text()
readme = (root / "README.md").read_text()

families = set()
# X(field, "key", "metric", label, TYPE, ...) over continuation lines
flat = re.sub(r"\\\n", " ", header)
for m in re.finditer(r'X\(\s*[\w.\[\]]+,\s*"\w+",\s*"(\w+)",\s*(?:NULL|"(?:[^"\\]|\\.)*"),\s*(COUNTER|GAUGE)',
                     flat):
    families.add("lbd_" + m.group(1) + ("_total" if m.group(2) == "COUNTER" else ""))
for m in re.finditer(r'family\(\s*&?w,\s*"(\w+)",\s*LB_STAT_(COUNTER|GAUGE)', prom_c):
    families.add("lbd_" + m.group(1) + ("_total" if m.group(2) == "COUNTER" else ""))
m = re.search(r'#define LB_STATS_DROP_METRIC\s+"(\w+)"', header)
families.add("lbd_" + m.group(1) + "_total")
if len(families) < 60:
    sys.exit("only %d families found: the parser no longer matches lb_stats.h" % len(families))

documented = set(re.findall(r"`(lbd_[a-z0-9_]+)`", readme))
missing = sorted(families - documented)
unknown = sorted(documented - families)
for f in missing:
    print("README.md does not document %s" % f)
for f in unknown:
    print("README.md documents %s, which lbd does not export" % f)
if missing or unknown:
    sys.exit(1)
print("%d metric families, all documented" % len(families))
