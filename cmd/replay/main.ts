// `npm run replay -- FILE|DIR...`: serves recorded events as an EventStreams-like SSE stream.
import { parseArgs } from 'node:util';
import { deriveEvents, readRecordedEvents } from '../../internal/replay/recorded-events.js';
import { ReplayServer } from '../../internal/replay/replay-server.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string', default: process.env.REPLAY_PORT ?? '8090' },
    host: { type: 'string', default: process.env.REPLAY_HOST ?? '127.0.0.1' },
    rate: { type: 'string', default: process.env.REPLAY_RATE ?? '50' },
    'drop-every': { type: 'string', default: '0' },
    once: { type: 'boolean', default: false },
    'keep-time': { type: 'boolean', default: false },
    count: { type: 'string', default: '0' },
  },
});
const files = positionals.length > 0 ? positionals : (process.env.REPLAY_FILES?.split(',') ?? []);
if (files.length === 0) {
  process.stderr.write(
    'usage: npm run replay -- [--port 8090] [--rate 50] [--drop-every N] [--once] [--keep-time] FILE|DIR...\n' +
      '  --rate 0 sends as fast as the client reads; without --once the events repeat with fresh ids;\n' +
      '  without --keep-time meta.dt is set to the time of sending;\n' +
      '  --count N prepares N events up front (recorded ones, then copies with fresh ids) and serves them once.\n',
  );
  process.exit(2);
}
const recorded = readRecordedEvents(files);
const count = Number(values.count);
const events = count > 0 ? deriveEvents(recorded, count) : recorded;
const server = new ReplayServer({
  events,
  ratePerSec: Number(values.rate),
  dropEvery: Number(values['drop-every']),
  loop: !values.once && count === 0,
  retime: !values['keep-time'],
});
const url = await server.listen(Number(values.port), values.host);
process.stdout.write(`replaying ${events.length} events at ${url}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
