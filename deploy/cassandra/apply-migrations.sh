#!/bin/sh
# One-shot job `cassandra-init` (docker-compose.yml), run with cqlsh from the Cassandra image once
# Cassandra is healthy and before the consumer starts: applies db/migrations/*.cql in order (their
# numbered names sort in order). Every migration is idempotent (IF NOT EXISTS, upserts), so running
# the job again changes nothing. The files name the keyspace `wikistream`; for another
# CASSANDRA_KEYSPACE the consumer applies them itself at start-up (CASSANDRA_APPLY_SCHEMA=true).
# Exits non-zero on the first failure, so the consumer (condition: service_completed_successfully)
# does not start on a half-applied schema.
set -eu

host="${CQLSH_HOST:-cassandra}"
port="${CQLSH_PORT:-9042}"
dir="${MIGRATIONS_DIR:-/db/migrations}"

found=0
for file in "$dir"/*.cql; do
  [ -e "$file" ] || continue
  found=1
  echo "applying $(basename "$file")"
  cqlsh "$host" "$port" --request-timeout=60 -f "$file"
done
if [ "$found" -eq 0 ]; then
  echo "no migration in $dir" >&2
  exit 1
fi
echo "schema applied"
