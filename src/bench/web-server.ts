/**
 * The web workload's server, run as its own process: a small dynamic page (some JSON built per
 * request), like a light application server. Prints its port when it listens.
 */
import { createServer } from 'node:http';

let n = 0;
const server = createServer((req, res) => {
  n++;
  const body = JSON.stringify({ path: req.url, n, items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}`, v: (n * 31 + i) % 97 })) });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`${typeof a === 'object' && a ? a.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
