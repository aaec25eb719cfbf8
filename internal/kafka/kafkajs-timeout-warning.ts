import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4's request queue (kafkajs issue 1751) schedules its pending-request check with
 * `setTimeout(check, this.throttledUntil - Date.now())`. With nothing pending and no broker
 * throttling (`throttledUntil` starts at -1) that delay is hugely negative: Node has always run
 * such a timer after 1 ms, and since Node 24 it also prints a `TimeoutNegativeWarning` to stderr
 * (once per process, so a real negative timeout of ours would then go unreported).
 *
 * The fix keeps kafkajs's code and behaviour: in exactly that case (nothing pending, no check
 * scheduled yet) its method runs with `throttledUntil` raised to now + 10 ms for the duration of
 * the call, so it computes a small positive delay instead of a negative one; the field is restored right
 * after (nothing else reads it during the call). When requests are pending, kafkajs runs untouched.
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
/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL (src/network/requestQueue/index.js). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;
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
    // Not now + 1: kafkajs reads the clock again, and on a loaded machine a millisecond or two
    // passes in between (seen: -1 and -2 warnings). 10 ms is kafkajs's own pending-check interval;
    // with nothing pending the check it schedules does nothing, so running it later changes nothing.
    this.throttledUntil = Math.max(throttledUntil, Date.now() + CHECK_PENDING_REQUESTS_INTERVAL_MS);
    try {
      schedule.call(this);
    } finally {
      this.throttledUntil = throttledUntil;
    }
  };
  return true;
}
