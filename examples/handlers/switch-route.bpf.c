// routes one process's syscalls into the buffer mine, and at its at-th switches to maskset s-after
#include "lkst-handler.h"

/* How many of the process's syscalls this handler saw. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, u32);
  __type(value, u64);
} sr_seen SEC(".maps");

/* `raw_syscalls:sys_enter switch-route pid=P at=N` */
int lkst_handler(struct lkst_ctx *c, void *rec) {
  if ((bpf_get_current_pid_tgid() >> 32) != lkst_param(c, pid)) return 0;
  u32 k = 0;
  u64 *n = bpf_map_lookup_elem(&sr_seen, &k);
  if (!n) return 0;
  if (__sync_add_and_fetch(n, 1) == lkst_param(c, at)) lkst_switch(c, s_after);
  return lkst_route(c, mine);
}
