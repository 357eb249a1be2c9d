#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# lbd --check-config on every shipped and every broken config:
#   config/*.conf        must be accepted (exit 0);
#   tests/config/*.conf  must be rejected (exit 1) with "FILE:LINE: message",
#                        LINE and message as the file's "# expect:" line says.
# usage: check-config.sh LBD SOURCE_ROOT
set -u
lbd=$1
root=$2
pass=0
fail=0

for f in "$root"/config/*.conf; do
	if out=$("$lbd" --check-config "$f" 2>&1); then
		pass=$((pass + 1))
	else
		echo "FAIL: $f rejected: $out"
		fail=$((fail + 1))
	fi
done

for f in "$root"/tests/config/*.conf; do
	expect=$(sed -n '1s/^# expect: //p' "$f")
	line=${expect%%: *}
	text=${expect#*: }
	out=$("$lbd" --check-config "$f" 2>&1)
	rc=$?
	case "$out" in
	"$f:$line: "*"$text"*)
		if [ "$rc" -eq 1 ]; then
			pass=$((pass + 1))
			continue
		fi
		;;
	esac
	echo "FAIL: $f: exit $rc, got '$out', want '$f:$line: ...$text...'"
	fail=$((fail + 1))
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
