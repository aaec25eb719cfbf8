// Child process of stream-fanout.bench.ts, so its work never runs on the server's event loop:
//   clients <base> <n>: opens n `/stats/stream?limit=10` connections and reads them (counting
//     messages, not parsing); prints READY once each has its first view.
//   prober <base>: GET /stats?limit=10 one after another, 20 a second; prints READY, then measures.
// On SIGTERM it prints one RESULT line (JSON) and exits.
import { type IncomingMessage, request } from 'node:http';

const [mode, base, count] = process.argv.slice(2);
if (!base || (mode !== 'clients' && mode !== 'prober')) {
  process.stderr.write('usage: stream-fanout-client.ts clients <base> <n> | prober <base>\n');
  process.exit(2);
}

function get(path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { agent: false }, resolve);
    req.once('error', reject);
    req.end();
  });
}

if (mode === 'clients') {
  const n = Number(count);
  let messages = 0;
  let bytes = 0;
  let connected = 0;
  let ready = 0;
  const opened: IncomingMessage[] = [];
  for (let i = 0; i < n; i++) {
    const res = await get('/stats/stream?limit=10');
    if (res.statusCode !== 200) throw new Error(`stream ${i} answered ${res.statusCode}`);
    connected++;
    opened.push(res);
    let first = true;
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      // Frames start with "event: stats"; a chunk holds whole frames or parts, close enough to count.
      for (let at = chunk.indexOf('event: stats'); at >= 0; at = chunk.indexOf('event: stats', at + 1)) {
        messages++;
      }
      if (first) {
        first = false;
        if (++ready === n) process.stdout.write(`READY ${connected}\n`);
      }
    });
    res.once('close', () => connected--);
  }
  process.once('SIGTERM', () => {
    process.stdout.write(`RESULT ${JSON.stringify({ connected, messages, bytes })}\n`);
    for (const res of opened) res.destroy();
    process.exit(0);
  });
} else {
  const latencies: number[] = [];
  let stopped = false;
  process.once('SIGTERM', () => {
    stopped = true;
    process.stdout.write(`RESULT ${JSON.stringify({ latencies })}\n`);
    process.exit(0);
  });
  process.stdout.write('READY\n');
  while (!stopped) {
    const started = performance.now();
    const res = await get('/stats?limit=10');
    for await (const _ of res) {
      // read the whole body: latency to the last byte
    }
    if (res.statusCode !== 200) throw new Error(`/stats answered ${res.statusCode}`);
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 50 - (performance.now() - started))));
  }
}
