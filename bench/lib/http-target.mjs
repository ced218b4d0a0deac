// A local delivery target for `pnpm bench http`, in its own process so that its CPU is not the
// bench's: answers every POST with 200 after DELAY_MS (argv[2], default 1), once the body is read.
// Prints its port on stdout; prints the number of requests it answered when it reads "count" on stdin, and exits when stdin ends.
import { createServer } from 'node:http';

const delayMs = Number(process.argv[2] ?? 1);
let requests = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    requests++;
    setTimeout(() => res.end('ok'), delayMs);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.stdin.setEncoding('utf8');
process.stdin.on('data', (line) => {
  if (line.includes('count')) process.stdout.write(`${requests}\n`);
});
process.stdin.on('end', () => server.close(() => process.exit(0)));
