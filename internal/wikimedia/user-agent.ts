import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Our own package.json sits two levels up from source and three from `dist/`. */
function ownVersion(): string {
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(path) as { name?: string; version?: string };
      if (pkg.name === 'wikistream' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

/**
 * Wikimedia's User-Agent policy asks clients to identify themselves with a contact:
 * `wikistream/<version> (<contact>) eventsource/<version>`.
 */
export function userAgent(contact: string): string {
  const eventsource = (require('eventsource/package.json') as { version: string }).version;
  return `wikistream/${ownVersion()} (${contact}) eventsource/${eventsource}`;
}
