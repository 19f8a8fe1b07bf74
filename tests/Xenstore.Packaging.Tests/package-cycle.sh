#!/bin/sh
# The package's life on a host, run in a private mount namespace whose /usr, /etc and /var are overlays and whose
# /run is a directory of the test: dpkg, the tools and the daemon see a whole system, and this machine's files
# (its dpkg database, Debian's xenstore-utils) are untouched. Prints "ok <step>" after each step; the test checks
# that every step was reached.
#   package-cycle.sh WORKDIR DEB [XEN-ROOT]   XEN-ROOT: where Debian's Xen scripts were extracted (launch-xenstore)
set -eu
work=$1 deb=$2 xenroot=${3:-}
for dir in usr etc var; do
  mkdir -p "$work/$dir-upper" "$work/$dir-work"
  mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$work/$dir-upper,workdir=$work/$dir-work" "/$dir"
done
mkdir -p "$work/run"
mount --bind "$work/run" /run

check() { "$@" || { echo "package-cycle: failed: $*" >&2; exit 1; }; }
digest() { if [ -e "$1" ]; then sha256sum "$1" | cut -c1-64; else echo absent; fi; }
debian_read_before=$(digest /usr/bin/xenstore-read)

dpkg --force-unsafe-io -i "$deb"
echo "ok installed"
check [ "$(readlink /usr/bin/xenstore-read)" = xenstore ]
check [ -x /usr/sbin/xenstored ]
check [ "$(dpkg-divert --listpackage /usr/bin/xenstore-read)" = xenstore-net ]
if [ "$debian_read_before" != absent ]; then
  check [ "$(digest /usr/bin/xenstore-read.distrib)" = "$debian_read_before" ]
fi
echo "ok diverted"
check sh -c "zcat /usr/share/man/man8/xenstored.8.gz | grep -q '^.TH XENSTORED 8'"
check sh -c "zcat /usr/share/man/man1/xenstore-read.1.gz | grep -q '^.TH XENSTORE 1'"
echo "ok manuals"

if [ -n "$xenroot" ]; then
  mkdir -p /etc/xen/scripts
  cp "$xenroot/etc/xen/scripts/launch-xenstore" "$xenroot/etc/xen/scripts/hotplugpath.sh" /etc/xen/scripts/
  # The script raises the open-files limit to fs.nr_open unless told a number; a container may forbid that.
  printf 'XENSTORED=/usr/sbin/xenstored\nXENSTORED_MAX_OPEN_FDS=%s\n' "$(ulimit -Hn)" > /etc/default/xencommons
  /etc/xen/scripts/launch-xenstore
  echo "ok launched"
else
  /usr/sbin/xenstored --pid-file /run/xen/xenstored.pid
  echo "ok started"
fi
pid=$(cat /run/xen/xenstored.pid)
check grep -q xenstored "/proc/$pid/cmdline"
xenstore-write /package/cycle installed
check [ "$(xenstore-read /package/cycle)" = installed ]
check [ "$(xenstore-list /package)" = cycle ]
xenstore-control help >/dev/null
echo "ok tools"

kill "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
dpkg --force-unsafe-io -r xenstore-net
check [ ! -e /usr/sbin/xenstored ]
check [ "$(digest /usr/bin/xenstore-read)" = "$debian_read_before" ]
check [ -z "$(dpkg-divert --list 'xenstore-net' )" ]
check [ -e /etc/default/xenstored ]
echo "ok removed"
dpkg --force-unsafe-io -P xenstore-net
check [ ! -e /etc/default/xenstored ]
echo "ok purged"
