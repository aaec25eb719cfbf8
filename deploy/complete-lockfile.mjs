#!/usr/bin/env node
// Adds to package-lock.json the platform packages it is missing, so `npm ci` works everywhere:
// in the Alpine (musl) build stage of our Dockerfiles, on macOS and Windows, and here.
//
// Why: `npm install` drops an optional dependency it cannot fetch from the registry it uses, and
// the registry of our development machines serves only some platforms' builds (e.g. no
// @biomejs/cli-darwin-arm64, no @biomejs/cli-linux-x64-musl at 2.6.8). The lock then lacks them,
// and `npm ci` refuses it anywhere ("package.json and package-lock.json are not in sync. Missing:
// @biomejs/cli-darwin-arm64@ from lock file").
//
// What: for each `optionalDependencies` entry with no lock entry, an entry with its version and the
// os / cpu / libc read from its name (`cli-linux-x64-musl` -> linux, x64, musl), marked optional
// (and dev when its parent is). npm skips it on other platforms; where it matches, npm fetches it
// from the registry by name and version (no integrity is recorded for it: none was available).
// Idempotent. Run after every `npm install` / `npm i -D`:  node deploy/complete-lockfile.mjs
// test/deploy/deploy-files.test.ts fails while the lock misses one.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OS = [
  'aix',
  'android',
  'darwin',
  'freebsd',
  'linux',
  'netbsd',
  'openbsd',
  'openharmony',
  'sunos',
  'win32',
];
const CPU = ['arm64', 'arm', 'ia32', 'loong64', 'mips64el', 'ppc64', 'riscv64', 's390x', 'x64'];

/** Entries the lock is missing: `{ key, entry }` for each unresolved optional dependency. */
export function missingPlatformEntries(lock) {
  const packages = lock.packages ?? {};
  const missing = new Map();
  for (const [key, pkg] of Object.entries(packages)) {
    for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
      const nested = `${key ? `${key}/` : ''}node_modules/${name}`;
      if (packages[nested] || packages[`node_modules/${name}`] || missing.has(`node_modules/${name}`))
        continue;
      const platform = platformOf(name);
      if (!platform)
        throw new Error(`${name} (optional dependency of ${key || 'the root'}): no platform in its name`);
      missing.set(`node_modules/${name}`, {
        version: version.replace(/^[\^~=]/, ''),
        cpu: [platform.cpu],
        ...(pkg.dev ? { dev: true } : {}),
        ...(platform.libc ? { libc: [platform.libc] } : {}),
        optional: true,
        os: [platform.os],
      });
    }
  }
  return [...missing].map(([key, entry]) => ({ key, entry }));
}

/** `@scope/cli-linux-x64-musl` -> { os: linux, cpu: x64, libc: musl }; undefined if not a platform name. */
export function platformOf(name) {
  const words = name.split('/').at(-1).split('-');
  const osAt = words.findIndex((w) => OS.includes(w));
  if (osAt < 0 || !CPU.includes(words[osAt + 1])) return undefined;
  const tail = words[osAt + 2];
  const libc = tail === 'musl' ? 'musl' : tail === 'gnu' ? 'glibc' : undefined;
  return { os: words[osAt], cpu: words[osAt + 1], ...(libc ? { libc } : {}) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', 'package-lock.json');
  const lock = JSON.parse(readFileSync(path, 'utf8'));
  const added = missingPlatformEntries(lock);
  if (added.length === 0) {
    process.stdout.write('package-lock.json: no platform package missing\n');
  } else {
    for (const { key, entry } of added) lock.packages[key] = entry;
    // npm keeps the root ("") first, then the keys in sorted order.
    const keys = Object.keys(lock.packages).sort((a, b) =>
      a === '' ? -1 : b === '' ? 1 : a.localeCompare(b),
    );
    lock.packages = Object.fromEntries(keys.map((k) => [k, lock.packages[k]]));
    writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
    process.stdout.write(`package-lock.json: added ${added.map((a) => a.key.slice(13)).join(', ')}\n`);
  }
}
