#!/usr/bin/env bash
# Removes what earlier test and benchmark runs left behind: the per-test databases (pulse_test_*)
# and the throw-away Kafka topics (test.*, lt.*, bench.*). Every such topic is another set of
# partitions the broker keeps open and checks, and a thousand of them measurably slowed it.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/common.sh
source "$REPO/scripts/lib/common.sh"
# shellcheck source=lib/kafka.sh
source "$REPO/scripts/lib/kafka.sh"

url="${DATABASE_URL:-postgres://pulse:pulse@127.0.0.1:5432/pulse}"
dbs="$(psql "$url" -Atc "select datname from pg_database where datname like 'pulse\_test\_%'")"
for db in $dbs; do
  psql "$url" -qc "drop database if exists \"$db\" with (force)" >/dev/null ||
    echo "==> could not drop $db (left for the next run)"
done
[[ -z "$dbs" ]] || echo "==> dropped $(wc -w <<<"$dbs") old test databases"

if kafka_has_tools && port_open 127.0.0.1 "$KAFKA_PORT"; then
  topic_tool() {
    timeout 120 java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$KAFKA_LIBS/*" \
      org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" "$@"
  }
  pattern='(test|lt|bench)\..*'
  n=$(topic_tool --list 2>/dev/null | grep -cxE "$pattern" || true)
  if ((n > 0)); then
    topic_tool --delete --topic "$pattern" >/dev/null 2>&1 || true
    echo "==> deleted $n old test and benchmark topics"
  fi
fi
