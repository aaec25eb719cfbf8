import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';

/**
 * Where `npm run build` (scripts/build-web.mjs) writes the dashboard: `<repo>/dist/web`. This file
 * runs from `<repo>/internal/http` (tsx, vitest) or `<repo>/dist/internal/http` (built), so both
 * resolve to the same folder and a build serves whichever way the server was started.
 */
export function defaultWebRoot(): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return basename(root) === 'dist' ? join(root, 'web') : join(root, 'dist', 'web');
}

/** The only files served: a fixed list, so no request path ever reaches the file system. */
const ASSETS: ReadonlyArray<{ route: string; file: string; type: string }> = [
  { route: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { route: '/assets/dashboard.js', file: 'assets/dashboard.js', type: 'text/javascript; charset=utf-8' },
  { route: '/assets/dashboard.css', file: 'assets/dashboard.css', type: 'text/css; charset=utf-8' },
  { route: '/assets/favicon.svg', file: 'assets/favicon.svg', type: 'image/svg+xml' },
];

/**
 * Everything the page loads comes from this server: no CDN, works offline. The policy also makes
 * the browser refuse any inline script or style, which the page does not use.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the built dashboard at `/`. Files are read per request (a few KB, from the page cache):
 * a rebuild shows without a restart, and a missing build is a clear 503, not a crash at start-up.
 */
export function mountDashboard(app: Hono, webRoot: string): void {
  for (const asset of ASSETS) {
    app.get(asset.route, async (c) => {
      const path = join(webRoot, asset.file);
      let body: Buffer;
      try {
        body = await readFile(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        return c.json(
          {
            error: 'dashboard_not_built',
            message: `dashboard asset ${asset.file} not found under ${webRoot}: run "npm run build"`,
          },
          503,
        );
      }
      return c.body(new Uint8Array(body), 200, {
        'content-type': asset.type,
        // Not fingerprinted: revalidate, so a new build is picked up at the next load.
        'cache-control': 'no-cache',
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
    });
  }
}
