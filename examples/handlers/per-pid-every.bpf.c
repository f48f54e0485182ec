// counts reads and writes per process in its own map; records every Nth of each process (every=N)
#include "lkst-handler.h"

/* Its own map: process id -> reads and writes seen (bpftool map dump name pid_rw_counts). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8192);
  __type(key, u32);
  __type(value, u64);
} pid_rw_counts SEC(".maps");

/* For raw_syscalls:sys_enter: `raw_syscalls:sys_enter per-pid-every every=100`. */
int lkst_handler(struct lkst_ctx *c, void *rec) {
  u64 id = lkst_field(c, id);
  if (id != 0 && id != 1) return 0; /* read, write */
  u32 pid = bpf_get_current_pid_tgid() >> 32;
  u64 *n = bpf_map_lookup_elem(&pid_rw_counts, &pid);
  if (!n) {
    u64 zero = 0;
    bpf_map_update_elem(&pid_rw_counts, &pid, &zero, BPF_NOEXIST);
    n = bpf_map_lookup_elem(&pid_rw_counts, &pid);
    if (!n) return 0;
  }
  u64 seen = __sync_add_and_fetch(n, 1);
  u64 every = lkst_param(c, every);
  return every && seen % every == 0 ? LKST_RECORD : 0;
}
