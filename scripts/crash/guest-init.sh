#!/bin/busybox sh
# /init of the crash-test guest. Kernel command line: lkst.nonce=WORD lkst.mode=basic|uaf [lkst.storm=1]
# Prints "LKST-STATS buffer cpu key value" lines on the console, then crashes the kernel.
/bin/busybox --install -s /bin
# The harness boots once more a kernel that died before this line (a boot oops, not the test's crash).
echo LKST-INIT-START
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in qemu_fw_cfg pvpanic pvpanic-mmio; do insmod /mods/$m.ko 2>/dev/null || echo "LKST-WARN cannot load $m"; done
nonce=none; mode=basic; storm=0
for w in $(cat /proc/cmdline); do
  case "$w" in lkst.nonce=*) nonce=${w#lkst.nonce=} ;; lkst.mode=*) mode=${w#lkst.mode=} ;; lkst.storm=*) storm=${w#lkst.storm=} ;; esac
done
# Kdump guests (make-kdump-initramfs.sh) have /kdump.sh: load the crash kernel, or save /proc/vmcore in it.
[ -f /kdump.sh ] && . /kdump.sh
mount -t tracefs nodev /sys/kernel/tracing
T=/sys/kernel/tracing
echo 0 > $T/tracing_on
echo 256 > $T/buffer_size_kb
# lkst.storm=1: CPU 1's top buffer is tiny and markers keep it wrapping, so CPU 1 loses events all along.
[ "$storm" = 1 ] && echo 8 > $T/per_cpu/cpu1/buffer_size_kb
for e in sched/sched_switch sched/sched_wakeup timer/timer_start timer/timer_cancel timer/timer_expire_entry timer/timer_expire_exit; do
  echo 1 > $T/events/$e/enable
done
# An instance small enough to wrap: markers overwrite its oldest pages.
mkdir $T/instances/lkst
I=$T/instances/lkst
echo 0 > $I/tracing_on
echo 8 > $I/buffer_size_kb
echo 1 > $I/events/sched/sched_process_exec/enable
if [ "$mode" = uaf ]; then
  echo 1 > $T/events/kmem/kmalloc/enable
  echo 1 > $T/events/kmem/kfree/enable
  [ -d $T/events/kmem/kmalloc_node ] && echo 1 > $T/events/kmem/kmalloc_node/enable
fi
echo 1 > $T/tracing_on
echo 1 > $I/tracing_on
echo "lkst-nonce=$nonce" > $T/trace_marker
# Not in the seed case: its analysis is about the top-level buffer's losses alone (this instance's
# clock is `local`, the top level's `global` on TCG's unstable sched_clock, seconds apart).
i=0; [ "$mode" = uaf ] && i=400
while [ $i -lt 400 ]; do echo "lkst-fill $i ............................................................" > $I/trace_marker; i=$((i+1)); done
echo "lkst-inst-nonce=$nonce" > $I/trace_marker
# A second instance half consumed by a reader: its reader page is partly read at the crash.
mkdir $T/instances/lkst2
R=$T/instances/lkst2
i=0
while [ $i -lt 40 ]; do echo "lkst-read $i" > $R/trace_marker; i=$((i+1)); done
head -n 3 $R/trace_pipe > /dev/null
echo "lkst-read-nonce=$nonce" > $R/trace_marker
# Kernels with sub-buffers larger than a page (6.8+): an instance with 16 KiB sub-buffers.
mkdir $T/instances/lkst3
S=$T/instances/lkst3
bufs="top lkst lkst2"
if [ -e $S/buffer_subbuf_size_kb ]; then
  echo 16 > $S/buffer_subbuf_size_kb
  i=0
  while [ $i -lt 200 ]; do echo "lkst-sub $i ..................................................." > $S/trace_marker; i=$((i+1)); done
  echo "lkst-sub-nonce=$nonce" > $S/trace_marker
  bufs="$bufs lkst3"
fi
sleep 0.3
if [ "$mode" = big ]; then
  # Fill big per-CPU buffers with every event there is, to measure recovery of large traces.
  echo 0 > $T/tracing_on
  echo 32768 > $T/buffer_size_kb
  echo 1 > $T/events/enable
  echo 1 > $T/tracing_on
  # Until some CPU's buffer has wrapped (how much work that takes depends on where it runs).
  i=0; while [ $i -lt 60 ] && ! grep -q '^overrun: [1-9]' $T/per_cpu/cpu*/stats; do ls -R /sys/kernel/tracing/events > /dev/null; i=$((i+1)); done
  echo "lkst-big-end=$nonce" > $T/trace_marker
fi
if [ "$mode" = uaf ]; then
  # Only now: hrtimers fire every tick and would soon wrap the buffer.
  for e in hrtimer_start hrtimer_cancel hrtimer_expire_entry hrtimer_expire_exit; do echo 1 > $T/events/timer/$e/enable; done
  # Long markers: a few of them fill CPU 1's buffer, even as slowly as an emulated CPU writes them.
  [ "$storm" = 1 ] && taskset 2 sh -c "m=lkst-storm-\$(printf '%1000s' | tr ' ' x); while :; do echo \$m > $T/trace_marker; done" &
  echo "lkst-uaf-start=$nonce" > $T/trace_marker
  # With the storm, on CPU 0: the case's own events must not be the ones CPU 1 loses. The storm must
  # already wrap CPU 1's buffer, and keep at it over a longer window, even on a loaded host where the
  # emulated CPU 1 runs slowly: else CPU 1 loses nothing inside the case's window.
  if [ "$storm" = 1 ]; then
    i=0; while [ $i -lt 100 ] && ! grep -q '^overrun: [1-9]' $T/per_cpu/cpu1/stats; do sleep 0.1; i=$((i+1)); done
    taskset 1 insmod /mods/extra.ko delay_ms=500
  else insmod /mods/extra.ko; fi
  sleep 5
  echo "LKST-WARN the use-after-free did not crash the guest"
fi
echo 0 > $T/tracing_on
echo 0 > $I/tracing_on
echo 0 > $R/tracing_on
echo 0 > $S/tracing_on
for b in $bufs; do
  d=$T; [ $b = top ] || d=$T/instances/$b
  for c in $d/per_cpu/cpu*; do
    n=${c##*/cpu}
    while IFS=: read -r k v; do
      k=$(echo $k | tr ' ' _); echo "LKST-STATS $b $n $k $(echo $v)"
    done < $c/stats
  done
done
echo "LKST-CRASH-NOW"
echo c > /proc/sysrq-trigger
sleep 10
