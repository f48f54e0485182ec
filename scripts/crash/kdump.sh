# Sourced by guest-init.sh in kdump guests (see make-kdump-initramfs.sh).
# First kernel: loads the crash kernel with kexec -p, then returns to trace and crash.
# Crash kernel (it has /proc/vmcore): copies the vmcore to the virtio disk and powers off.
if [ -e /proc/vmcore ]; then
  for m in $(cat /mods/kdump.order); do insmod /mods/$m.ko || echo "LKST-WARN cannot load $m"; done
  i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  [ -b /dev/vda ] || { echo "LKST-KDUMP-FAIL no /dev/vda"; poweroff -f; }
  echo "LKST-VMCORE-SIZE $(stat -c %s /proc/vmcore)"
  dd if=/proc/vmcore of=/dev/vda bs=1M 2>/dev/null && sync && echo "LKST-VMCORE-SAVED"
  poweroff -f
fi
# What the test compares the dump's module list with.
sed 's/^/LKST-MODULE /' /proc/modules
if [ "$(cat /sys/kernel/kexec_crash_size)" = 0 ]; then
  echo "LKST-KDUMP-FAIL no memory reserved for the crash kernel (crashkernel=)"
else
  kexec -p /boot/vmlinuz --initrd=/boot/crash.gz \
    --append="console=ttyS0 reset_devices nr_cpus=1 irqpoll panic=0 loglevel=4 lkst.nonce=$nonce" &&
    echo "LKST-KDUMP-LOADED $(cat /sys/kernel/kexec_crash_loaded)" || echo "LKST-KDUMP-FAIL kexec -p"
fi
