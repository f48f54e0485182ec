#!/bin/busybox sh
# /init of a guest that runs one command on the host's root (read-only over 9p, tag hostroot) and
# powers off. Kernel command line: lkst.xchg=DIR, a host directory shared read-write (tag xchg)
# and mounted at the same path in the guest; it holds run.sh, written by the host, and gets the
# command's stdout, stderr and rc. lkst.checkout=DIR: the project (tag checkout), read-only.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
fail() { echo "LKST-GUEST-ERROR $*"; poweroff -f; }
for m in netfs 9pnet 9pnet_virtio 9p; do insmod /mods/$m.ko || fail "cannot load $m"; done
x=
c=
for w in $(cat /proc/cmdline); do case "$w" in lkst.xchg=*) x=${w#lkst.xchg=} ;; lkst.checkout=*) c=${w#lkst.checkout=} ;; esac; done
[ -n "$x" ] || fail "no lkst.xchg= on the kernel command line"
o=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o $o,ro,cache=loose hostroot /host || fail "cannot mount the host root"
# Writable places over the read-only root; the kernel's own file systems are the guest's.
for d in tmp run var/tmp root; do mount -t tmpfs -o mode=1777 tmpfs /host/$d || fail "cannot mount tmpfs on /$d"; done
# The checkout over its place: a clone under /tmp is hidden by the tmpfs above.
if [ -n "$c" ]; then mkdir -p /host$c && mount -t 9p -o $o,ro,cache=loose checkout /host$c || fail "cannot mount the checkout $c"; fi
mkdir -p /host$x && mount -t 9p -o $o xchg /host$x || fail "cannot mount the exchange directory $x"
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t tracefs nodev /host/sys/kernel/tracing
mount -t devtmpfs dev /host/dev
echo LKST-GUEST-READY
chroot /host /bin/sh $x/run.sh
echo LKST-GUEST-DONE
sync
poweroff -f
