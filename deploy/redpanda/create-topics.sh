#!/bin/sh
# One-shot job `redpanda-init` (docker-compose.yml), run with rpk from the Redpanda image once the
# broker is healthy and before the producer and consumer start: creates the events topic with
# KAFKA_PARTITIONS partitions and the dead-letter topic with one. Redpanda's dev-container mode
# auto-creates unknown topics with a single partition, so the first client to touch the topic must
# not be the one that decides its partition count.
# Idempotent: an existing topic is kept; one with fewer partitions than asked gets partitions added
# (Kafka can add partitions, never remove them). Exits non-zero on any rpk failure, so the services
# that depend on it (condition: service_completed_successfully) do not start.
set -eu

brokers="${RPK_BROKERS:-redpanda:9092}"
topic="${KAFKA_TOPIC:-wikipedia.changes}"
dlq_topic="${KAFKA_DLQ_TOPIC:-wikipedia.changes.dlq}"
partitions="${KAFKA_PARTITIONS:-6}"

# Partition count of topic $1 as `rpk topic list` shows it (NAME PARTITIONS REPLICAS), empty if absent.
current_partitions() {
  rpk topic list -X brokers="$brokers" | awk -v name="$1" '$1 == name { print $2 }'
}

ensure_topic() {
  name="$1"
  want="$2"
  have="$(current_partitions "$name")"
  if [ -z "$have" ]; then
    rpk topic create "$name" --partitions "$want" --replicas 1 -X brokers="$brokers"
    echo "created topic $name with $want partitions"
  elif [ "$have" -lt "$want" ]; then
    rpk topic add-partitions "$name" --num "$((want - have))" -X brokers="$brokers"
    echo "topic $name had $have partitions: added $((want - have))"
  else
    echo "topic $name exists with $have partitions (asked for $want): kept"
  fi
}

ensure_topic "$topic" "$partitions"
ensure_topic "$dlq_topic" 1
rpk topic list -X brokers="$brokers"
