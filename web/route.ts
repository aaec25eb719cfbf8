// What the dashboard shows, kept in the URL's hash so a view can be shared and reloaded:
// `#/?window=5m`, `#/wiki/en.wikipedia.org?window=1h`, `#/user/Some%20name`. Pure: unit-tested.

export const WINDOWS = ['5m', '1h', '24h', 'all'] as const;
export type Window = (typeof WINDOWS)[number];

export type Route =
  | { readonly view: 'overview'; readonly window: Window }
  | { readonly view: 'wiki'; readonly domain: string; readonly window: Window }
  | { readonly view: 'user'; readonly user: string; readonly window: Window };

const DEFAULT_WINDOW: Window = 'all';

/** Any hash, even a hand-edited or broken one, gives a route: unknown parts fall back to the overview. */
export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const asked = params.get('window');
  const window = (WINDOWS as readonly string[]).includes(asked ?? '') ? (asked as Window) : DEFAULT_WINDOW;
  const match = /^\/(wiki|user)\/(.+)$/.exec(path);
  const name = match ? safeDecode(match[2] as string) : undefined;
  if (match && name) {
    return match[1] === 'wiki'
      ? { view: 'wiki', domain: name, window }
      : { view: 'user', user: name, window };
  }
  return { view: 'overview', window };
}

export function formatRoute(route: Route): string {
  const query = route.window === DEFAULT_WINDOW ? '' : `?window=${route.window}`;
  switch (route.view) {
    case 'overview':
      return `#/${query}`;
    case 'wiki':
      return `#/wiki/${encodeURIComponent(route.domain)}${query}`;
    case 'user':
      return `#/user/${encodeURIComponent(route.user)}${query}`;
  }
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined; // a malformed %-escape: show the overview rather than fail
  }
}

/** The `window=` of the JSON endpoints for a window of the selector; `all` means none. */
export function windowParam(window: Window): Record<string, string> {
  return window === 'all' ? {} : { window };
}

/** Trending pages are only kept for a window (24 h at most): "all" shows the last 24 h. */
export function pagesWindow(window: Window): Exclude<Window, 'all'> {
  return window === 'all' ? '24h' : window;
}

/** `https://<domain>/...` only for a host name; anything else upstream sends gets no link. */
export function wikiUrl(domain: string, path = '/'): string | undefined {
  return /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(domain) ? `https://${domain}${path}` : undefined;
}

/** The user's page on one wiki, as MediaWiki spells titles (spaces as underscores). */
export function userPageUrl(domain: string, user: string): string | undefined {
  return wikiUrl(domain, `/wiki/User:${encodeURIComponent(user.replace(/ /g, '_'))}`);
}

/** A page link from the server, kept only when it is http(s): never `javascript:` or the like. */
export function safeHttpUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}
