import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4's request queue (kafkajs issue 1751) schedules its pending-request check with
 * `setTimeout(check, this.throttledUntil - Date.now())`. With nothing pending and no broker
 * throttling (`throttledUntil` starts at -1) that delay is hugely negative: Node has always run
 * such a timer after 1 ms, and since Node 24 it also prints a `TimeoutNegativeWarning` to stderr
 * (once per process, so a real negative timeout of ours would then go unreported).
 *
 * The fix keeps kafkajs's code and behaviour: in exactly that case (nothing pending, no check
 * scheduled yet) its method runs with `throttledUntil` raised to now + 1 ms and the clock held at
 * now for the duration of the call, so it computes the 1 ms delay Node would have used anyway;
 * both are restored right after (the call is synchronous: nothing else runs meanwhile). When requests are pending, kafkajs runs untouched.
 * No warning is filtered: every other warning, and any negative timeout of ours, is still printed.
 * The patch applies only while kafkajs still has that line; a kafkajs that changed it is left alone.
 */

interface RequestQueueState {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
}
type Schedule = (this: RequestQueueState) => void;

const NEGATIVE_DELAY_SOURCE = 'this.throttledUntil - Date.now()';
const requireKafkajs = createRequire(import.meta.url);

let installed: boolean | undefined;

/** Patches kafkajs's request queue once per process; returns whether the patch applies. */
export function avoidKafkajsNegativeTimeout(): boolean {
  if (installed !== undefined) return installed;
  const RequestQueue = requireKafkajs('kafkajs/src/network/requestQueue/index.js') as {
    prototype: { scheduleCheckPendingRequests: Schedule };
  };
  const schedule = RequestQueue.prototype.scheduleCheckPendingRequests;
  installed = String(schedule).includes(NEGATIVE_DELAY_SOURCE);
  if (!installed) return false;
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueState) {
    if (this.pending.length > 0 || this.throttleCheckTimeoutId) return schedule.call(this);
    const throttledUntil = this.throttledUntil;
    const now = Date.now();
    const realNow = Date.now;
    this.throttledUntil = Math.max(throttledUntil, now + 1);
    // kafkajs reads the clock once more inside; on a loaded machine milliseconds pass in between
    // (seen: -1, -2, -6 with a margin of 10 ms). Within this one synchronous call it reads the same
    // instant, so the delay is exactly the 1 ms Node would have used for the negative one.
    Date.now = () => now;
    try {
      schedule.call(this);
    } finally {
      Date.now = realNow;
      this.throttledUntil = throttledUntil;
    }
  };
  return true;
}
