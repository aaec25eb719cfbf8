// One live source of JSON for the page: the `/stats/stream` Server-Sent Events when there is one,
// else (or while it fails) polling, at most once per `pollMs` and never two requests at once.

export type Transport = 'stream' | 'polling';

export interface FeedOptions<T> {
  /** `/stats/stream?...`; without it the feed only polls. */
  readonly streamUrl?: string;
  readonly pollUrl: string;
  readonly pollMs: number;
  readonly onData: (data: T, via: Transport) => void;
  /** A poll that failed (HTTP status or network): the page says so and keeps trying. */
  readonly onError: (message: string, status?: number) => void;
}

/** After the stream failed, poll for this long before trying it again. */
const STREAM_RETRY_MS = 30_000;

export class LiveFeed<T> {
  private source: EventSource | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly options: FeedOptions<T>) {}

  start(): void {
    if (this.options.streamUrl && typeof EventSource === 'function') this.openStream(this.options.streamUrl);
    else void this.poll();
  }

  stop(): void {
    this.stopped = true;
    this.source?.close();
    clearTimeout(this.pollTimer);
    clearTimeout(this.retryTimer);
  }

  private openStream(url: string): void {
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener('stats', (event) => {
      if (this.stopped) return;
      this.options.onData(JSON.parse((event as MessageEvent<string>).data) as T, 'stream');
    });
    // EventSource would retry by itself, but shows nothing meanwhile (and gives up for good on an
    // HTTP error such as the 503 of a full server): poll instead, and try the stream again later.
    source.addEventListener('error', () => {
      source.close();
      if (this.stopped || this.source !== source) return;
      this.source = undefined;
      void this.poll();
      this.retryTimer = setTimeout(() => {
        if (this.stopped) return;
        clearTimeout(this.pollTimer);
        this.pollTimer = undefined;
        this.openStream(url);
      }, STREAM_RETRY_MS);
    });
  }

  private async poll(): Promise<void> {
    const started = performance.now();
    // A hidden tab reads nothing; the rate line simply spans the gap when it is shown again.
    if (!document.hidden) {
      try {
        const response = await fetch(this.options.pollUrl, {
          cache: 'no-store',
          headers: { accept: 'application/json' },
        });
        if (!response.ok) {
          this.options.onError(
            `${new URL(response.url).pathname} answered HTTP ${response.status}`,
            response.status,
          );
        } else if (!this.stopped) {
          this.options.onData((await response.json()) as T, 'polling');
        }
      } catch (err) {
        this.options.onError(err instanceof Error ? err.message : String(err));
      }
    }
    if (this.stopped || this.source) return;
    // The next request starts after this one ended, at most one a `pollMs`.
    this.pollTimer = setTimeout(
      () => void this.poll(),
      Math.max(0, this.options.pollMs - (performance.now() - started)),
    );
  }
}
