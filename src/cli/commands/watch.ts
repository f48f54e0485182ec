import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { action } from '../run.js';
import { alertSource, followAlerts, type Alert } from '../../bpf/alerts.js';
import { alertFieldsText } from '../../bpf/alert-trace.js';

/** One line: time (mono clock), CPU, event, pid and every field. */
function alertLine(a: Alert): string {
  const secs = `${a.ts / 1_000_000_000n}.${String((a.ts % 1_000_000_000n) / 1000n).padStart(6, '0')}`;
  return `${secs} [${String(a.cpu).padStart(3, '0')}] ${a.event} pid=${a.pid} ${alertFieldsText(a)}`;
}

/** The alert for --exec: LKST_EVENT, LKST_TS (ns), LKST_CPU, LKST_PID and LKST_F_<FIELD> per field. */
function alertEnv(a: Alert): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LKST_EVENT: a.event, LKST_TS: String(a.ts), LKST_CPU: String(a.cpu), LKST_PID: String(a.pid) };
  for (const [k, v] of Object.entries(a.fields)) env[`LKST_F_${k}`] = v;
  return env;
}

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('print the alerts of a running recording (alert handlers on BPF) as they come, one line each; --exec runs a command per alert')
    .option('-i, --instance <name>', 'the recording\'s instance (when several with alerts run)')
    .option('--exec <command>', 'run this shell command per alert, the alert in LKST_EVENT, LKST_TS, LKST_CPU, LKST_PID, LKST_F_<FIELD>')
    .option('-n, --count <n>', 'stop after N alerts', (v) => Number(v))
    .option('--wait <seconds>', 'wait this long for such a recording to start', (v) => Number(v), 10)
    .action(
      action(async (o: { instance?: string; exec?: string; count?: number; wait: number }) => {
        const instance = await alertSource(o.instance, o.wait * 1000);
        let failed = 0;
        await followAlerts(
          instance,
          (a) => {
            process.stdout.write(`${alertLine(a)}\n`);
            if (!o.exec) return;
            const r = spawnSync('sh', ['-c', o.exec], { env: alertEnv(a), stdio: 'inherit' });
            if (r.status !== 0) failed++;
          },
          o.count ? { max: o.count } : {},
        );
        if (!failed) return 0;
        process.stderr.write(`lkst: --exec failed for ${failed} alert(s)\n`);
        return 1;
      }),
    );
}
