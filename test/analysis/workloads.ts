/**
 * Short healthy workloads for the loss-aware analyses' tests: what a kernel does every day, so
 * any certain finding on them is a false one. Each runs a few seconds as `sh -c`.
 */
import { compiledHelper } from '../../src/native/compile.js';

/**
 * Orphans client sockets in FIN_WAIT2 with TCP_LINGER2 = 1 s: the kernel turns each into a
 * timewait socket whose timer frees the socket from inside its own callback about a second
 * later (as TIME_WAIT does after 60 s). Usage: finwait SOCKETS SECONDS.
 */
const FINWAIT_C = `
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 8, wait = argc > 2 ? atoi(argv[2]) : 3, one = 1;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t al = sizeof a;
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 64) || getsockname(ls, (struct sockaddr *)&a, &al)) return 1;
  for (int i = 0; i < n; i++) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a)) return 1;
    /* The server end stays open, so the client's end stays in FIN_WAIT2 until its timer. */
    if (accept(ls, 0, 0) < 0) return 1;
    setsockopt(c, IPPROTO_TCP, TCP_LINGER2, &one, sizeof one);
    close(c);
  }
  sleep(wait);
  return 0;
}
`;

export interface Workload {
  name: string;
  command(): string[];
  /** Heavy enough that a 16 KiB buffer surely loses events while it runs. */
  storm: boolean;
}

/** Runs `body` repeatedly for `secs` seconds. */
const loop = (secs: number, body: string) => `end=$(( $(date +%s) + ${secs} )); while [ $(date +%s) -lt $end ]; do ${body}; done`;

export function healthyWorkloads(secs = 2): Workload[] {
  return [
    {
      name: 'web (busybox httpd + wrk on 127.0.0.1)',
      storm: true,
      command: () => {
        const port = 20000 + Math.floor(Math.random() * 40000);
        return ['sh', '-c', `d=$(mktemp -d); echo hello > $d/index.html; busybox httpd -f -p 127.0.0.1:${port} -h $d & p=$!; sleep 0.2; wrk -t1 -c8 -d${secs}s http://127.0.0.1:${port}/index.html > /dev/null; r=$?; kill $p; rm -rf $d; exit $r`];
      },
    },
    {
      name: 'build (make -j2 of nine C files)',
      storm: true,
      command: () => [
        'sh',
        '-c',
        `set -e; d=$(mktemp -d); for i in 1 2 3 4 5 6 7 8; do printf '#include <stdio.h>\\n#include <string.h>\\nint f%d(int x){char b[64];snprintf(b,64,"%%d",x);return (int)strlen(b);}\\n' $i > $d/f$i.c; done
printf 'int main(void){return 0;}\\n' > $d/main.c
printf 'prog: f1.o f2.o f3.o f4.o f5.o f6.o f7.o f8.o main.o\\n\\tcc -o $@ $^\\n%%.o: %%.c\\n\\tcc -O2 -c $< -o $@\\n' > $d/Makefile
${loop(secs, 'rm -f $d/*.o $d/prog; make -s -j2 -C $d > /dev/null')}; rm -rf $d`,
      ],
    },
    {
      name: 'fork/exec (a shell loop of /bin/true)',
      storm: true,
      command: () => ['sh', '-c', loop(secs, 'for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done')],
    },
    {
      name: 'I/O (dd with fsync, find /usr)',
      storm: true,
      command: () => ['sh', '-c', `d=$(mktemp -d); ${loop(secs, 'dd if=/dev/zero of=$d/f bs=64k count=32 conv=fsync status=none; dd if=$d/f of=/dev/null bs=4k status=none; find /usr -maxdepth 3 > /dev/null 2>&1')}; rm -rf $d`],
    },
    {
      name: 'timewait (timers that free their own socket)',
      storm: false,
      command: () => [compiledHelper('lkst-test-finwait', FINWAIT_C), '16', String(secs + 1)],
    },
  ];
}
