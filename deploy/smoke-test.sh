#!/usr/bin/env bash
# Compose smoke test, as CI runs it (.github/workflows/ci.yml) and as anyone can locally:
# starts the stack on the replay override, waits until every service is healthy (one-shot jobs:
# exited 0), then polls /stats until it counts events, within bounded retries. Exit 0 on success.
# Leaves the stack running: `docker compose -f docker-compose.yml -f deploy/compose.replay.yml
# down -v` removes it (CI does that in an `always()` step, after collecting logs on failure).
#   deploy/smoke-test.sh               builds the images first (--build)
#   deploy/smoke-test.sh --no-build    uses images already tagged as PRODUCER_IMAGE / CONSUMER_IMAGE
set -euo pipefail
cd "$(dirname "$0")/.."

compose=(docker compose -f docker-compose.yml -f deploy/compose.replay.yml)
build_flag="${1:---build}"
stats_url="http://localhost:${HTTP_PORT:-8080}/stats"

echo "smoke: starting the stack (${build_flag})"
"${compose[@]}" up -d "${build_flag}" --wait --wait-timeout "${SMOKE_WAIT_TIMEOUT:-300}"
"${compose[@]}" ps -a

# The consumer is ready; events reach /stats once the producer has replayed some and the consumer
# has applied a batch. 60 tries, 2 s apart: two minutes at most.
body=""
for attempt in $(seq 1 60); do
  body="$(curl -fsS --max-time 5 "$stats_url" || true)"
  if grep -Eq '"total":[1-9][0-9]*' <<<"$body" && grep -Eq '"by_domain":\{"' <<<"$body"; then
    echo "smoke: /stats counts events after ${attempt} tries"
    echo "${body:0:600}"
    exit 0
  fi
  sleep 2
done
echo "smoke: /stats did not count any event in time; last answer: ${body:0:600}" >&2
exit 1
