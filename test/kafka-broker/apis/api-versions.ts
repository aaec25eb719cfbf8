import { ErrorCode } from '../errors.js';
import type { ApiDefinition, ApiHandler } from '../protocol.js';

/** Highest ApiVersions version served; kafkajs tries v2, then v1, then v0 (notes §3). */
export const API_VERSIONS_MAX = 2;

/**
 * ApiVersions v0–2 (notes §3). The request body is empty. For a version above 2 Kafka answers a
 * v0-shaped body with 35 UNSUPPORTED_VERSION so the client can retry lower.
 */
export function apiVersions(table: () => readonly ApiDefinition[]): ApiHandler {
  return (ctx, _r, w) => {
    const version = ctx.header.apiVersion;
    w.int16(version > API_VERSIONS_MAX ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.NONE);
    w.array(table(), (w, def) => {
      w.int16(def.key).int16(def.minVersion).int16(def.maxVersion);
    });
    if (version >= 1 && version <= API_VERSIONS_MAX) w.int32(0); // throttle_time_ms
  };
}
