/**
 * The LKST event catalog: the events of the 2002 LKST event list, each mapped onto the tracepoints
 * of today's kernels. LKST hooked the kernel source directly; we can only use what the kernel
 * traces, so every mapping says how faithful it is and why.
 */

export const CATEGORIES = [
  'process',
  'interrupt',
  'exception',
  'syscall',
  'memory',
  'fs',
  'net',
  'ipc',
  'lock',
  'timer',
  'other',
] as const;

export type Category = (typeof CATEGORIES)[number];

export const CATEGORY_TITLES: Readonly<Record<Category, string>> = {
  process: 'process management',
  interrupt: 'interrupts',
  exception: 'exceptions',
  syscall: 'system calls',
  memory: 'memory management',
  fs: 'filesystems',
  net: 'networking',
  ipc: 'SysV IPC',
  lock: 'locks',
  timer: 'timers',
  other: 'others',
};

/** One tracepoint behind an LKST event. */
export interface TracepointRef {
  /** "system:event" as in available_events. */
  readonly id: string;
  /** Kernel filter narrowing the tracepoint to this LKST event (tested on 6.18). */
  readonly filter?: string;
}

/** How closely the tracepoints reproduce what LKST recorded. */
export type Fidelity = 'exact' | 'approximate' | 'none';

export interface LkstEvent {
  readonly name: string;
  readonly category: Category;
  readonly description: string;
  /**
   * Alternatives in order of preference; each is a set of tracepoints used together. Use the first
   * alternative of which this kernel has any tracepoint, and of it the tracepoints it has (members
   * missing on some kernel versions, e.g. kmalloc_node, simply drop out).
   */
  readonly alternatives: readonly (readonly TracepointRef[])[];
  readonly fidelity: Fidelity;
  /** Where the kernel has no equivalent or the mapping is approximate. */
  readonly note?: string;
}

function tp(id: string, filter?: string): TracepointRef {
  return filter === undefined ? { id } : { id, filter };
}

const SYSV_IPC_SYSCALLS = ['msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semctl', 'shmget', 'shmat', 'shmdt', 'shmctl', 'ipc'];

// lock:contention_begin flags (include/trace/events/lock.h): SPIN=1, READ=2, WRITE=4.
const LCB_SPIN = 'flags == 1';
const LCB_SPIN_READ = 'flags == 3';
const LCB_SPIN_WRITE = 'flags == 5';
// lock:lock_acquire flags (lockdep kernels only): bit 0 trylock, bit 1 read.
const LOCKDEP_TRYLOCK = 'flags & 1';

const CONTENDED_ONLY =
  'only contended acquisitions are traced (contention_begin, then contention_end once the lock is held); uncontended ones leave no trace';
const LOCKDEP_ONLY = 'no tracepoint on production kernels; lockdep kernels (CONFIG_LOCKDEP) have lock:lock_acquire/lock_release for every lock class';

export const LKST_EVENTS: readonly LkstEvent[] = [
  // process management
  {
    name: 'PROCESS_CONTEXTSWITCH',
    category: 'process',
    description: 'The scheduler switches a CPU from one task to another.',
    alternatives: [[tp('sched:sched_switch')]],
    fidelity: 'exact',
  },
  {
    name: 'PROCESS_WAKEUP',
    category: 'process',
    description: 'A sleeping or new task is made runnable.',
    alternatives: [[tp('sched:sched_wakeup'), tp('sched:sched_wakeup_new')]],
    fidelity: 'exact',
  },
  {
    name: 'PROCESS_SIGSEND',
    category: 'process',
    description: 'A signal is sent to a task.',
    alternatives: [[tp('signal:signal_generate')]],
    fidelity: 'exact',
  },
  {
    name: 'PROCESS_LTHREADGEN',
    category: 'process',
    description: 'A new thread of execution is created (fork, clone, kernel thread).',
    alternatives: [[tp('task:task_newtask')], [tp('sched:sched_process_fork')]],
    fidelity: 'approximate',
    note: 'fires for every new task; clone_flags (CLONE_VM, CLONE_THREAD) tell threads from processes',
  },

  // interrupts
  {
    name: 'INT_HARDWARE_ENTRY',
    category: 'interrupt',
    description: 'A hardware interrupt handler starts.',
    alternatives: [[tp('irq:irq_handler_entry'), tp('irq_vectors:local_timer_entry')]],
    fidelity: 'exact',
    note: 'device IRQs plus the local timer; other APIC vectors (IPIs etc.) are irq_vectors:*',
  },
  {
    name: 'INT_TASKLETHI_ENTRY',
    category: 'interrupt',
    description: 'High-priority tasklets start running (HI softirq).',
    alternatives: [[tp('irq:softirq_entry', 'vec == 0')]],
    fidelity: 'approximate',
    note: 'the HI softirq entry, not each tasklet; irq:tasklet_entry names the function but does not tell HI from normal tasklets',
  },
  {
    name: 'INT_TASKLET_ENTRY',
    category: 'interrupt',
    description: 'A tasklet starts running.',
    alternatives: [[tp('irq:tasklet_entry')], [tp('irq:softirq_entry', 'vec == 6')]],
    fidelity: 'exact',
    note: 'irq:tasklet_entry also fires for HI tasklets; kernels without it fall back to the TASKLET softirq entry',
  },
  {
    name: 'INT_BH_ENTRY',
    category: 'interrupt',
    description: 'A bottom half starts running.',
    alternatives: [[tp('irq:softirq_entry')]],
    fidelity: 'approximate',
    note: "Linux 2.4's bottom halves became softirqs: every softirq entry",
  },

  // exceptions
  {
    name: 'EXCEPTION_ENTRY',
    category: 'exception',
    description: 'The CPU enters an exception (trap or fault) handler.',
    alternatives: [[tp('exceptions:page_fault_user'), tp('exceptions:page_fault_kernel')]],
    fidelity: 'approximate',
    note: 'only page faults have tracepoints (x86); other traps have none',
  },
  {
    name: 'EXCEPTION_EXIT',
    category: 'exception',
    description: 'An exception handler returns.',
    alternatives: [],
    fidelity: 'none',
    note: 'no tracepoint marks the return from a fault handler; the next event of the task follows it',
  },

  // system calls: the raw pair keeps the default set light; per-call events exist as syscalls:*
  {
    name: 'SYSCALL_ENTRY',
    category: 'syscall',
    description: 'A task enters a system call.',
    alternatives: [[tp('raw_syscalls:sys_enter')]],
    fidelity: 'exact',
  },
  {
    name: 'SYSCALL_EXIT',
    category: 'syscall',
    description: 'A system call returns.',
    alternatives: [[tp('raw_syscalls:sys_exit')]],
    fidelity: 'exact',
  },

  // memory management
  {
    name: 'MEM_SWAPOUT',
    category: 'memory',
    description: 'A page is written out to swap.',
    alternatives: [[tp('vmscan:mm_vmscan_write_folio', 'reclaim_flags & 1')], [tp('vmscan:mm_vmscan_writepage', 'reclaim_flags & 1')]],
    fidelity: 'approximate',
    note: 'reclaim writeback of anonymous pages (RECLAIM_WB_ANON); mm_vmscan_writepage on kernels before 6.1',
  },
  {
    name: 'MEM_SWAPIN',
    category: 'memory',
    description: 'A page is read back from swap.',
    alternatives: [],
    fidelity: 'none',
    note: 'no swap-in tracepoint; a swap-in is a page fault (EXCEPTION_ENTRY) that waits for I/O',
  },
  {
    name: 'MEM_DO_NOPAGE',
    category: 'memory',
    description: 'A fault maps in a page that was not present (demand paging).',
    alternatives: [[tp('filemap:mm_filemap_fault')], [tp('exceptions:page_fault_user')]],
    fidelity: 'approximate',
    note: 'filemap:mm_filemap_fault (after 6.1) covers file-backed faults only; anonymous faults have no tracepoint; 6.1 falls back to user page faults',
  },
  {
    name: 'MEM_DO_WPPAGE',
    category: 'memory',
    description: 'A write fault on a present page (copy-on-write).',
    alternatives: [
      [tp('exceptions:page_fault_user', 'error_code & 1 && error_code & 2'), tp('exceptions:page_fault_kernel', 'error_code & 1 && error_code & 2')],
    ],
    fidelity: 'approximate',
    note: 'page faults with the present and write bits set (x86): copy-on-write and write-protect faults',
  },
  {
    name: 'MEM_WAIT_PAGE',
    category: 'memory',
    description: 'A task waits for a page under I/O.',
    alternatives: [[tp('writeback:folio_wait_writeback')], [tp('writeback:wait_on_page_writeback')]],
    fidelity: 'approximate',
    note: 'only waits for writeback; waits on a locked page being read have no tracepoint',
  },
  {
    name: 'MEM_GET_FREEPAGE',
    category: 'memory',
    description: 'Pages are taken from the page allocator.',
    alternatives: [[tp('kmem:mm_page_alloc')]],
    fidelity: 'exact',
  },
  {
    name: 'MEM_GET_ZEROPAGE',
    category: 'memory',
    description: 'A zero-filled page is allocated.',
    alternatives: [[tp('kmem:mm_page_alloc')]],
    fidelity: 'approximate',
    note: "same tracepoint as MEM_GET_FREEPAGE: zeroed pages carry __GFP_ZERO in gfp_flags (the bit differs between builds, so no filter)",
  },
  {
    name: 'MEM_FREEPAGE',
    category: 'memory',
    description: 'Pages are returned to the page allocator.',
    alternatives: [[tp('kmem:mm_page_free')]],
    fidelity: 'exact',
    note: 'kmem:mm_page_free_batched repeats a subset of these frees (pages freed in batches), so it is left out',
  },
  {
    name: 'MEM_VMALLOC',
    category: 'memory',
    description: 'Virtually contiguous kernel memory is allocated (vmalloc).',
    alternatives: [[tp('vmalloc:alloc_vmap_area')]],
    fidelity: 'approximate',
    note: 'the vmap area reservation behind vmalloc and vmap; 6.1 and older have no vmalloc tracepoints',
  },
  {
    name: 'MEM_VFREE',
    category: 'memory',
    description: 'vmalloc memory is freed (vfree).',
    alternatives: [[tp('vmalloc:free_vmap_area_noflush')]],
    fidelity: 'approximate',
    note: 'vmap areas are freed lazily: traced when queued for the purge; 6.1 and older have no vmalloc tracepoints',
  },
  {
    name: 'MEM_CACHE_CREATE',
    category: 'memory',
    description: 'A slab cache is created.',
    alternatives: [],
    fidelity: 'none',
    note: 'kmem_cache_create has no tracepoint; /proc/slabinfo lists the caches',
  },
  {
    name: 'MEM_CACHE_ALLOC',
    category: 'memory',
    description: 'An object is allocated from a slab cache.',
    alternatives: [[tp('kmem:kmem_cache_alloc'), tp('kmem:kmem_cache_alloc_node')]],
    fidelity: 'exact',
    note: 'kmem_cache_alloc_node exists only before 6.1, which folded it into kmem_cache_alloc',
  },
  {
    name: 'MEM_MALLOC',
    category: 'memory',
    description: 'Kernel memory is allocated with kmalloc.',
    alternatives: [[tp('kmem:kmalloc'), tp('kmem:kmalloc_node')]],
    fidelity: 'exact',
    note: 'kmalloc_node exists only before 6.1, which folded it into kmalloc',
  },
  {
    name: 'MEM_CACHE_FREE',
    category: 'memory',
    description: 'An object is returned to its slab cache.',
    alternatives: [[tp('kmem:kmem_cache_free')]],
    fidelity: 'exact',
  },
  {
    name: 'MEM_FREE',
    category: 'memory',
    description: 'kmalloc memory is freed (kfree).',
    alternatives: [[tp('kmem:kfree')]],
    fidelity: 'exact',
  },

  // filesystems
  {
    name: 'FS_DEVRW',
    category: 'fs',
    description: 'A block read or write request is issued to a device.',
    alternatives: [[tp('block:block_rq_issue')]],
    fidelity: 'exact',
    note: 'the request reaching the driver; block:block_bio_queue marks the submission',
  },
  {
    name: 'FS_DEVEND',
    category: 'fs',
    description: 'A block I/O request completes.',
    alternatives: [[tp('block:block_rq_complete')]],
    fidelity: 'exact',
  },
  {
    name: 'FS_BUFBUSY',
    category: 'fs',
    description: 'A task waits for a busy (locked) buffer.',
    alternatives: [],
    fidelity: 'none',
    note: 'no tracepoint for waiting on a locked buffer_head; block:block_touch_buffer traces buffer use only',
  },

  // networking
  {
    name: 'NET_PKTSEND',
    category: 'net',
    description: 'A packet is queued for transmission (dev_queue_xmit).',
    alternatives: [[tp('net:net_dev_queue')]],
    fidelity: 'exact',
  },
  {
    name: 'NET_PKTSENDI',
    category: 'net',
    description: 'A device driver transmits a packet.',
    alternatives: [[tp('net:net_dev_xmit')]],
    fidelity: 'approximate',
    note: 'the return from the driver transmit; net:net_dev_start_xmit marks the call',
  },
  {
    name: 'NET_PKTRECV',
    category: 'net',
    description: 'A received packet enters the protocol stack (netif_receive_skb).',
    alternatives: [[tp('net:netif_receive_skb')]],
    fidelity: 'exact',
  },
  {
    name: 'NET_PKTRECVI',
    category: 'net',
    description: 'A packet is received from the device in interrupt context.',
    alternatives: [[tp('net:netif_rx'), tp('net:napi_gro_receive_entry')]],
    fidelity: 'approximate',
    note: 'NAPI drivers hand packets over through napi_gro_receive rather than netif_rx',
  },
  {
    name: 'NET_SOCKETIF',
    category: 'net',
    description: 'Data passes the socket interface (send or receive).',
    alternatives: [
      [tp('sock:sock_send_length'), tp('sock:sock_recv_length')],
      ['sendto', 'recvfrom', 'sendmsg', 'recvmsg'].map((call) => tp(`syscalls:sys_enter_${call}`)),
    ],
    fidelity: 'approximate',
    note: 'sock_sendmsg/sock_recvmsg with their lengths (after 6.1); 6.1 and older fall back to the socket syscalls',
  },

  // SysV IPC
  {
    name: 'SYSV_IPC',
    category: 'ipc',
    description: 'A System V IPC call (message queue, semaphore, shared memory).',
    alternatives: [SYSV_IPC_SYSCALLS.map((call) => tp(`syscalls:sys_enter_${call}`))],
    fidelity: 'approximate',
    note: 'the kernel has no IPC tracepoints: entries of the SysV IPC syscalls (sys_ipc on 32-bit)',
  },

  // locks (not in the default set: tracing them costs the most)
  {
    name: 'LK_SPINLOCK',
    category: 'lock',
    description: 'A spinlock is acquired.',
    alternatives: [[tp('lock:contention_begin', LCB_SPIN), tp('lock:contention_end')], [tp('lock:lock_acquire')]],
    fidelity: 'approximate',
    note: CONTENDED_ONLY,
  },
  {
    name: 'LK_SPINTRYLOCK',
    category: 'lock',
    description: 'A spinlock is tried without waiting.',
    alternatives: [[tp('lock:lock_acquire', LOCKDEP_TRYLOCK)]],
    fidelity: 'approximate',
    note: `a try-lock never waits, so never hits the contention tracepoints; ${LOCKDEP_ONLY}`,
  },
  {
    name: 'LK_SPINUNLOCK',
    category: 'lock',
    description: 'A spinlock is released.',
    alternatives: [[tp('lock:lock_release')]],
    fidelity: 'approximate',
    note: LOCKDEP_ONLY,
  },
  {
    name: 'LK_WRLOCK',
    category: 'lock',
    description: 'A reader-writer spinlock is acquired for writing.',
    alternatives: [[tp('lock:contention_begin', LCB_SPIN_WRITE), tp('lock:contention_end')], [tp('lock:lock_acquire')]],
    fidelity: 'approximate',
    note: CONTENDED_ONLY,
  },
  {
    name: 'LK_WRTRYLOCK',
    category: 'lock',
    description: 'A reader-writer spinlock is tried for writing without waiting.',
    alternatives: [[tp('lock:lock_acquire', LOCKDEP_TRYLOCK)]],
    fidelity: 'approximate',
    note: `a try-lock never waits, so never hits the contention tracepoints; ${LOCKDEP_ONLY}`,
  },
  {
    name: 'LK_WRUNLOCK',
    category: 'lock',
    description: 'A reader-writer spinlock held for writing is released.',
    alternatives: [[tp('lock:lock_release')]],
    fidelity: 'approximate',
    note: LOCKDEP_ONLY,
  },
  {
    name: 'LK_RDLOCK',
    category: 'lock',
    description: 'A reader-writer spinlock is acquired for reading.',
    alternatives: [[tp('lock:contention_begin', LCB_SPIN_READ), tp('lock:contention_end')], [tp('lock:lock_acquire')]],
    fidelity: 'approximate',
    note: CONTENDED_ONLY,
  },
  {
    name: 'LK_RDUNLOCK',
    category: 'lock',
    description: 'A reader-writer spinlock held for reading is released.',
    alternatives: [[tp('lock:lock_release')]],
    fidelity: 'approximate',
    note: LOCKDEP_ONLY,
  },

  // timers
  {
    name: 'TIMER_RUN',
    category: 'timer',
    description: "A timer's callback runs.",
    alternatives: [[tp('timer:timer_expire_entry')]],
    fidelity: 'exact',
  },
  {
    name: 'TIMER_ADD',
    category: 'timer',
    description: 'A timer is armed (add_timer).',
    alternatives: [[tp('timer:timer_start')]],
    fidelity: 'exact',
  },
  {
    name: 'TIMER_MOD',
    category: 'timer',
    description: "A timer's expiry is changed (mod_timer).",
    alternatives: [[tp('timer:timer_start')]],
    fidelity: 'approximate',
    note: 'same tracepoint as TIMER_ADD; re-arming a pending timer usually shows timer_cancel then timer_start',
  },
  {
    name: 'TIMER_DEL',
    category: 'timer',
    description: 'A pending timer is removed (del_timer).',
    alternatives: [[tp('timer:timer_cancel')]],
    fidelity: 'exact',
    note: 'timer_cancel also fires when the timer wheel dequeues an expiring timer, just before timer_expire_entry',
  },
  {
    name: 'TIMER_DEL_SYNC',
    category: 'timer',
    description: 'A timer is removed after its running callback finishes (del_timer_sync).',
    alternatives: [[tp('timer:timer_cancel')]],
    fidelity: 'approximate',
    note: 'same tracepoint as TIMER_DEL: the kernel does not trace the synchronous variant apart',
  },

  // others
  {
    name: 'O_PORTIN',
    category: 'other',
    description: 'A read from an I/O port.',
    alternatives: [],
    fidelity: 'none',
    note: 'port I/O instructions are inlined and untraced; msr:read_msr is the nearest relative',
  },
  {
    name: 'O_PORTOUT',
    category: 'other',
    description: 'A write to an I/O port.',
    alternatives: [],
    fidelity: 'none',
    note: 'port I/O instructions are inlined and untraced; msr:write_msr is the nearest relative',
  },
  {
    name: 'O_PANIC',
    category: 'other',
    description: 'The kernel panics.',
    alternatives: [],
    fidelity: 'none',
    note: 'no panic tracepoint (a panicking kernel cannot hand over a trace); lkst recovers the buffers from the crash dump',
  },
  {
    name: 'O_PRINTK',
    category: 'other',
    description: 'A kernel message is logged (printk).',
    alternatives: [[tp('printk:console')]],
    fidelity: 'exact',
  },
];

const BY_NAME = new Map(LKST_EVENTS.map((e) => [e.name, e]));

/** Looks up an LKST event by name, case-insensitively. */
export function lkstEvent(name: string): LkstEvent | undefined {
  return BY_NAME.get(name.toUpperCase());
}

export function eventsInCategory(category: Category): LkstEvent[] {
  return LKST_EVENTS.filter((e) => e.category === category);
}

export function isCategory(name: string): name is Category {
  return (CATEGORIES as readonly string[]).includes(name);
}

/** The seed's DEF set: every LKST event except the lock category. */
export const DEFAULT_EVENT_NAMES: readonly string[] = LKST_EVENTS.filter((e) => e.category !== 'lock').map((e) => e.name);

export const ALL_EVENT_NAMES: readonly string[] = LKST_EVENTS.map((e) => e.name);

/** Every tracepoint the catalog mentions, in any alternative. */
export function catalogTracepointIds(event: LkstEvent): string[] {
  return [...new Set(event.alternatives.flatMap((alt) => alt.map((ref) => ref.id)))];
}

/** The LKST events whose mapping mentions a tracepoint. */
export function lkstEventsOfTracepoint(id: string): LkstEvent[] {
  return LKST_EVENTS.filter((e) => catalogTracepointIds(e).includes(id));
}

/**
 * Tracepoints that open an interval and the one that closes it (on the same CPU). An analysis that
 * times the interval needs both; a built-in maskset recording the entry records the exit too.
 */
export const INTERVAL_EXITS: Readonly<Record<string, string>> = {
  'irq:irq_handler_entry': 'irq:irq_handler_exit',
  'irq:softirq_entry': 'irq:softirq_exit',
  'irq:tasklet_entry': 'irq:tasklet_exit',
  'irq_vectors:local_timer_entry': 'irq_vectors:local_timer_exit',
  'timer:timer_expire_entry': 'timer:timer_expire_exit',
  'timer:hrtimer_expire_entry': 'timer:hrtimer_expire_exit',
  'raw_syscalls:sys_enter': 'raw_syscalls:sys_exit',
  'net:napi_gro_receive_entry': 'net:napi_gro_receive_exit',
};

/**
 * The exit tracepoints of an event's entries, each with the filter of its entry (an entry narrowed
 * to one softirq vector closes with that vector's exit).
 */
export function exitTracepoints(event: LkstEvent): TracepointRef[] {
  const out: TracepointRef[] = [];
  for (const ref of event.alternatives.flat()) {
    const exit = INTERVAL_EXITS[ref.id];
    if (exit) out.push(ref.filter === undefined ? { id: exit } : { id: exit, filter: ref.filter });
  }
  return out;
}
