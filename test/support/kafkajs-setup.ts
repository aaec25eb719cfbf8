// Vitest setup file (vitest.config.ts): test files that use kafkajs directly, not through
// createKafka, get the binaries' fix too, so Node 24's TimeoutNegativeWarning for kafkajs's request
// queue does not clutter the test output (internal/kafka/kafkajs-timeout-warning.ts says why).
import { avoidKafkajsNegativeTimeout } from '../../internal/kafka/kafkajs-timeout-warning.js';

avoidKafkajsNegativeTimeout();
