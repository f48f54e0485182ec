# Sourced by ensure.sh: waits while another package manager (apt, unattended-upgrades, dpkg) holds
# the dpkg or apt locks, saying so on stderr, up to LKST_DPKG_LOCK_WAIT seconds (default 600).
# The holder is found in /proc/locks (fcntl and flock locks alike) by the lock file's device and inode.

DPKG_LOCKS="/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock"

# "MAJ:MIN:INODE" of a file as /proc/locks prints it (device numbers in hex, two digits at least).
lock_key() {
  dev=$(stat -L -c %d "$1" 2>/dev/null) || return 1
  ino=$(stat -L -c %i "$1")
  printf '%02x:%02x:%s' $(( (dev >> 8) & 0xfff )) $(( (dev & 0xff) | ((dev >> 12) & 0xfff00) )) "$ino"
}

# Prints "FILE PID (COMM)" for the first of the files someone holds a lock on; nothing when none is held.
lock_holder() {
  for f in "$@"; do
    key=$(lock_key "$f") || continue
    pid=$(awk -v k="$key" '$0 !~ /->/ && $6 == k { print $5; exit }' /proc/locks)
    if [ -n "$pid" ]; then
      echo "$f $pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo '?'))"
      return 0
    fi
  done
}

# Waits until none of the lock files (default: dpkg's and apt's) is held; fails after the limit.
wait_for_dpkg_lock() {
  [ $# -gt 0 ] || set -- $DPKG_LOCKS
  limit=${LKST_DPKG_LOCK_WAIT:-600}
  waited=0
  said=""
  while holder=$(lock_holder "$@") && [ -n "$holder" ]; do
    if [ "$waited" -ge "$limit" ]; then
      echo "lkst: ${holder%% *} is still locked by pid ${holder#* } after ${limit} s: another package manager is running; wait for it to finish (or stop it) and run again, or set LKST_DPKG_LOCK_WAIT to wait longer" >&2
      return 1
    fi
    if [ -z "$said" ]; then
      echo "lkst: waiting for ${holder%% *}, held by pid ${holder#* } (another package manager is running; up to ${limit} s)..." >&2
      said=1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  [ -z "$said" ] || echo "lkst: the package manager lock is free: going on" >&2
  return 0
}
