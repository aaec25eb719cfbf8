import type { Admin } from 'kafkajs';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * Consumer lag per partition, from the broker's view: end offset minus the group's committed
 * offset (a partition with nothing committed lags by everything retained). Polled, because kafkajs
 * has no lag event; an admin request every `intervalMs` is cheap.
 */
export class LagMonitor {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly admin: Admin,
    private readonly topic: string,
    private readonly groupId: string,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.admin.disconnect();
  }

  async poll(): Promise<void> {
    try {
      const [ends, committed] = await Promise.all([
        this.admin.fetchTopicOffsets(this.topic),
        this.admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] }),
      ]);
      const byPartition = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
      for (const end of ends) {
        const done = byPartition.get(end.partition) ?? -1;
        const lag = Number(end.high) - (done >= 0 ? done : Number(end.low));
        this.metrics.consumerLag.set(
          { topic: this.topic, partition: String(end.partition) },
          Math.max(0, lag),
        );
      }
    } catch (err) {
      this.log.warn({ err }, 'could not read consumer lag');
    }
  }
}
