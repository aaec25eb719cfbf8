import { type ApiDefinition, ApiKey } from '../protocol.js';
import { API_VERSIONS_MAX, apiVersions } from './api-versions.js';
import { createTopics } from './create-topics.js';
import { fetch } from './fetch.js';
import { findCoordinator } from './find-coordinator.js';
import { heartbeat, joinGroup, leaveGroup, syncGroup } from './group-membership.js';
import { initProducerId } from './init-producer-id.js';
import { listOffsets } from './list-offsets.js';
import { metadata } from './metadata.js';
import { offsetCommit, offsetFetch } from './offsets.js';
import { produce } from './produce.js';

/** One exact version per API, as recommended in notes §1 (table "advertise"). */
function only(key: ApiKey, version: number, handle: ApiDefinition['handle']): ApiDefinition {
  return { key, minVersion: version, maxVersion: version, handle };
}

export const API_DEFINITIONS: readonly ApiDefinition[] = [
  only(ApiKey.Produce, 3, produce),
  only(ApiKey.Fetch, 4, fetch),
  only(ApiKey.ListOffsets, 1, listOffsets),
  only(ApiKey.Metadata, 1, metadata),
  only(ApiKey.OffsetCommit, 2, offsetCommit),
  only(ApiKey.OffsetFetch, 1, offsetFetch),
  only(ApiKey.FindCoordinator, 0, findCoordinator),
  only(ApiKey.JoinGroup, 1, joinGroup),
  only(ApiKey.Heartbeat, 0, heartbeat),
  only(ApiKey.LeaveGroup, 0, leaveGroup),
  only(ApiKey.SyncGroup, 0, syncGroup),
  {
    key: ApiKey.ApiVersions,
    minVersion: 0,
    maxVersion: API_VERSIONS_MAX,
    handle: apiVersions(() => API_DEFINITIONS),
  },
  only(ApiKey.CreateTopics, 1, createTopics),
  only(ApiKey.InitProducerId, 0, initProducerId),
];

const BY_KEY = new Map(API_DEFINITIONS.map((d) => [d.key as number, d]));

/**
 * The definition that can decode this request, or undefined (Kafka then closes the connection).
 * ApiVersions accepts any version: above its max it answers 35 so the client retries lower (notes §3).
 */
export function findApi(apiKey: number, apiVersion: number): ApiDefinition | undefined {
  const def = BY_KEY.get(apiKey);
  if (!def) return undefined;
  if (def.key === ApiKey.ApiVersions) return def;
  return apiVersion >= def.minVersion && apiVersion <= def.maxVersion ? def : undefined;
}
