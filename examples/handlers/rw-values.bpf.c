// records, at each read or write, the process, its running count of them and its command as the event lkst_user:rw
#include "lkst-handler.h"

/* The value's fields are the event's: trace-cmd report prints "pid=... count=... comm=...". */
struct lkst_value_rw {
  u32 pid;
  u64 count;
  char comm[16];
};

/* Process id -> its reads and writes so far. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8192);
  __type(key, u32);
  __type(value, u64);
} rw_running SEC(".maps");

/* For raw_syscalls:sys_enter: `raw_syscalls:sys_enter rw-values`. */
int lkst_handler(struct lkst_ctx *c, void *rec) {
  u64 id = lkst_field(c, id);
  if (id > 1) return 0; /* read, write */
  struct lkst_value_rw v = {};
  v.pid = bpf_get_current_pid_tgid() >> 32;
  u64 zero = 0, *n;
  bpf_map_update_elem(&rw_running, &v.pid, &zero, BPF_NOEXIST);
  n = bpf_map_lookup_elem(&rw_running, &v.pid);
  if (!n) return 0;
  v.count = __sync_add_and_fetch(n, 1);
  bpf_get_current_comm(v.comm, sizeof v.comm);
  lkst_value(c, rw, &v);
  return 0;
}
