import { detectBpf } from '../../src/bpf/features.js';

/** Why the BPF handler tests skip here (no toolchain, root or BTF; tracepoint programs refused), or false. */
export function tracepointBpfSkip(): string | false {
  const bpf = detectBpf();
  if (bpf.unavailable) return `BPF handlers unavailable: ${bpf.unavailable.why}`;
  return bpf.kinds.tracepoint !== true ? `tracepoint programs do not load: ${bpf.kinds.tracepoint}` : false;
}
