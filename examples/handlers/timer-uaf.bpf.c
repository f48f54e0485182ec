// alerts when a timer is armed or fires inside freed kmalloc memory (the seed's timer-after-free)
#include "lkst-handler.h"

/*
 * Maskset lines (one handler for the four events; history=1 records them all into the buffer bpf,
 * a flight recorder the alert freezes, so it ends with the timer on freed memory):
 *   kmem:kmalloc timer-uaf history=1
 *   kmem:kfree timer-uaf history=1
 *   timer:timer_start timer-uaf history=1
 *   timer:timer_expire_entry timer-uaf history=1
 * The alert (lkst watch) carries the event's fields (the timer, its function) and object= and
 * object_bytes=: the freed object the timer lies in.
 * Objects allocated before the recording started are not known (their size is not), so their frees
 * are not tracked. Freed objects up to MAX_OBJECT bytes are searched for a timer's address.
 */
#define MAX_OBJECT 512

/* Live kmalloc objects: address -> bytes_alloc. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, u64);
  __type(value, u64);
} uaf_live SEC(".maps");

/* Freed objects not allocated again: address -> bytes. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, u64);
  __type(value, u64);
} uaf_freed SEC(".maps");

int lkst_handler(struct lkst_ctx *c, void *rec) {
  int history = lkst_param(c, history) ? LKST_RECORD : 0;
  if (lkst_event_is(c, kmem, kmalloc)) {
    u64 ptr = lkst_field(c, ptr), bytes = lkst_field(c, bytes_alloc);
    bpf_map_delete_elem(&uaf_freed, &ptr);
    bpf_map_update_elem(&uaf_live, &ptr, &bytes, BPF_ANY);
    return history;
  }
  if (lkst_event_is(c, kmem, kfree)) {
    u64 ptr = lkst_field(c, ptr);
    u64 *bytes = bpf_map_lookup_elem(&uaf_live, &ptr);
    if (!bytes) return history;
    u64 n = *bytes;
    bpf_map_delete_elem(&uaf_live, &ptr);
    bpf_map_update_elem(&uaf_freed, &ptr, &n, BPF_ANY);
    return history;
  }
  /* timer_start or timer_expire_entry: is the timer inside a freed object? Objects start 8-aligned. */
  u64 timer = lkst_field(c, timer);
  for (u64 back = 0; back < MAX_OBJECT; back += 8) {
    u64 start = timer - back;
    u64 *bytes = bpf_map_lookup_elem(&uaf_freed, &start);
    if (bytes && timer < start + *bytes) {
      lkst_note(c, object, start);
      lkst_note(c, object_bytes, *bytes);
      return LKST_RECORD | LKST_ALERT | LKST_FREEZE;
    }
  }
  return history;
}
