/**
 * The one trace shape, apart from the pages themselves: what a reader needs to decode and show
 * per-CPU ring-buffer pages, wherever they came from (live kernel, trace.dat, crash dump).
 */
export interface TraceMeta {
  headerPage: string;
  headerEvent: string;
  /** Format files of the ftrace system (print, bprint, ...), as text. */
  ftraceFormats: string[];
  eventFormats: { system: string; formats: string[] }[];
  /** /proc/kallsyms text. */
  kallsyms: string;
  /** A file holding the kallsyms text instead (kallsyms is then empty): a writer copies it in the kernel. */
  kallsymsFile?: string;
  /** printk_formats text. */
  printk: string;
  /** saved_cmdlines text ("pid comm" lines). */
  cmdlines: string;
  clock: string;
  /** Bytes per ring-buffer page (sub-buffer). */
  pageSize: number;
  cpuCount: number;
  uname?: string;
  hostname?: string;
  /** Name of the buffer (tracefs instance) recorded. */
  instance?: string;
  /** The maskset in force when the trace was written (lkst's files; absent when unknown). */
  maskset?: string;
  /** lkst's count tables (BPF count handlers) at the end of recording, as JSON (bpf/counts.ts's CountsReport). */
  counts?: string;
  /** Per CPU: per_cpu/cpuN/stats text at the end of recording (entries, overrun, dropped events...). */
  cpuStats?: (string | undefined)[];
  /**
   * "INSTANCE:text" of a boot-persistent instance's last_boot_info (trace-cmd's LAST_BOOT_INFO): the
   * events are the previous boot's and kallsyms is this boot's, shifted by the deltas it names.
   */
  lastBootInfo?: string;
  /** /proc/modules-format text of the traced kernel (trace-cmd's MODULES_FILE section). */
  modules?: string;
}
