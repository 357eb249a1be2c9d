#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# meson install into a DESTDIR: lbd, lbctl, their man pages, the example
# config, lbd.service and lbd-prepare land where the unit says they are; the
# man pages render without warnings, the example config passes
# --check-config, the unit passes systemd-analyze verify (when systemd is
# installed) and lbd-prepare reserves hugepages on a fake sysfs.
# usage: check-install.sh BUILD_ROOT PREFIX BINDIR SYSCONFDIR LIBEXECDIR MANDIR UNITDIR
set -u
build=$1 prefix=$2 bindir=$3 sysconfdir=$4 libexecdir=$5 mandir=$6 unitdir=$7
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
bindir=$(abs "$bindir") sysconfdir=$(abs "$sysconfdir") libexecdir=$(abs "$libexecdir")
mandir=$(abs "$mandir")
fail=0
bad() { echo "FAIL: $*"; fail=1; }

dest=$(mktemp -d /tmp/lbd-install-XXXXXX)
trap 'rm -rf "$dest"' EXIT
if ! out=$(meson install -C "$build" --destdir "$dest" --no-rebuild 2>&1); then
	echo "$out"
	echo "FAIL: meson install"
	exit 1
fi

for f in "$bindir/lbd" "$bindir/lbctl" "$libexecdir/lbd/lbd-prepare"; do
	[ -x "$dest$f" ] || bad "$f is not installed (or not executable)"
done
for f in "$mandir/man8/lbd.8" "$mandir/man8/lbctl.8" "$sysconfdir/lbd/lbd.conf.example" \
	"$unitdir/lbd.service"; do
	[ -f "$dest$f" ] || bad "$f is not installed"
done
[ -e "$dest$sysconfdir/lbd/lbd.conf" ] && bad "the live config must not be installed (an example is)"

# man pages: no warnings from man/groff
command -v man >/dev/null 2>&1 || echo "man not installed: man pages not rendered (apt-get install man-db)"
command -v man >/dev/null 2>&1 && for m in lbd lbctl; do
	w=$(MANWIDTH=80 man --warnings -l "$dest$mandir/man8/$m.8" 2>&1 >/dev/null)
	[ -z "$w" ] || bad "man $m: $w"
	MANWIDTH=80 man -l "$dest$mandir/man8/$m.8" 2>/dev/null | grep -q "SYNOPSIS" ||
		bad "man $m does not render"
done

# the example config is a valid config
out=$("$dest$bindir/lbd" --check-config "$dest$sysconfdir/lbd/lbd.conf.example" 2>&1) ||
	bad "example config rejected: $out"

# the unit: paths of this install, reload by SIGHUP, restart on failure
u="$dest$unitdir/lbd.service"
grep -qx "ExecStart=$bindir/lbd -c \${LBD_CONFIG} \$LBD_OPTS" "$u" || bad "ExecStart: $(grep ExecStart= "$u")"
grep -qx "ExecReload=/bin/kill -HUP \$MAINPID" "$u" || bad "ExecReload is not SIGHUP"
grep -qx "ExecStartPre=+$libexecdir/lbd/lbd-prepare" "$u" || bad "no lbd-prepare"
grep -qx "Environment=LBD_CONFIG=$sysconfdir/lbd/lbd.conf LBD_HUGEPAGES=1024" "$u" ||
	bad "LBD_CONFIG is not $sysconfdir/lbd/lbd.conf"
grep -qx "Restart=on-failure" "$u" || bad "no Restart=on-failure"
grep -qx "RuntimeDirectory=lbd" "$u" || bad "no RuntimeDirectory (the socket's /run/lbd)"
if command -v systemd-analyze >/dev/null 2>&1; then
	# the unit with its paths moved into the DESTDIR, so that verify finds
	# the programs it names; --man=no: the man pages are not installed yet
	mkdir -p "$dest/verify"
	sed -e "s|=$bindir/|=$dest$bindir/|g" -e "s|=+$libexecdir/|=+$dest$libexecdir/|" \
		"$u" > "$dest/verify/lbd.service"
	out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$dest/verify/lbd.service" 2>&1) ||
		bad "systemd-analyze verify: $out"
	[ -z "$out" ] || bad "systemd-analyze verify warns: $out"
else
	echo "systemd-analyze not installed: unit not verified by systemd (apt-get install systemd)"
fi

# lbd-prepare on a fake sysfs: raises, never lowers, refuses nonsense
sys="$dest/fakesys"
nr="$sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
mkdir -p "$(dirname "$nr")"
echo 10 > "$nr"
p="$dest$libexecdir/lbd/lbd-prepare"
LBD_SYSFS=$sys LBD_HUGETLBFS=/ LBD_HUGEPAGES=64 "$p" >/dev/null || bad "lbd-prepare failed"
[ "$(cat "$nr")" = 64 ] || bad "lbd-prepare did not reserve 64 pages: $(cat "$nr")"
LBD_SYSFS=$sys LBD_HUGETLBFS=/ LBD_HUGEPAGES=8 "$p" >/dev/null || bad "lbd-prepare failed"
[ "$(cat "$nr")" = 64 ] || bad "lbd-prepare lowered the reservation: $(cat "$nr")"
LBD_SYSFS=$sys LBD_HUGETLBFS=/ LBD_HUGEPAGES=lots "$p" 2>/dev/null && bad "lbd-prepare took LBD_HUGEPAGES=lots"
LBD_SYSFS=$dest/none LBD_HUGETLBFS=/ LBD_HUGEPAGES=8 "$p" 2>/dev/null && bad "lbd-prepare ignored a missing sysfs"

[ "$fail" -eq 0 ] && echo "install: ok"
exit "$fail"
