#!/usr/bin/env bash
# Prints where everything is, with a ready-to-paste curl using a freshly created tenant key.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name="demo-$(date +%Y%m%d-%H%M%S)"
tenant="$("${PULSE_BIN:-./target/release/pulse}" tenant create --name "$name")"
key="$(sed -E 's/.*"api_key":"([^"]+)".*/\1/' <<<"$tenant")"
admin_token="${PULSE_ADMIN_TOKEN:-$(cat .run/admin-token 2>/dev/null || echo '(see .run/admin-token)')}"
cat <<TXT

Pulse is up.

  ingest      http://localhost:8080   (POST /events, /events/batch, /healthz, /readyz, /metrics)
  graphql     http://localhost:8081/graphql   (GraphiQL; console at http://localhost:8081/)
  processor   http://localhost:8082/healthz   (/readyz, /metrics)
  jaeger      http://localhost:16686
  postgres    postgres://pulse:pulse@127.0.0.1:5432/pulse
  redis       redis://127.0.0.1:6379
  kafka       127.0.0.1:9092  (topics events.raw, events.dlq)

A tenant "$name" was created for you (its key is shown only now):

  curl -i localhost:8080/events \\
    -H 'X-API-Key: $key' \\
    -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: order-\$RANDOM" \\
    -d '{"event_type":"order.created","payload":{"order_id":"o-1","amount":42}}'

The GraphQL admin token (kept in .run/admin-token, mode 0600). In GraphiQL, open "Headers" and paste:

  {"Authorization": "Bearer $admin_token"}

  curl -s localhost:8081/graphql -H "Authorization: Bearer $admin_token" \\
    -H 'Content-Type: application/json' -d '{"query":"{ tenants { name rateLimitPerMinute } }"}'

  make status | make logs | make down
TXT
