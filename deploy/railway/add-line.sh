#!/usr/bin/env bash
# Add a WhatsApp line to a Railway project in one step.
#
# Pool mode (the default): create the line through the gateway's API (it wants a worker at once),
# then set the replica count of the pool service (SESSION_SERVICE, default `session-pool`, running
# `/bin/wamesh-session --pool`) to the number of lines that want a worker: one more than before
# when every line was served. An idle replica takes the new line; the new replica takes whichever
# line has waited longest.
#
#   GATEWAY_URL=https://<gateway>.up.railway.app WAMESH_API_KEY=... RAILWAY_REGION=<region> \
#     ./deploy/railway/add-line.sh "Shop line"
#
# RAILWAY_REGION is the region the pool service runs in (`railway scale --help` lists the names).
# `railway scale` redeploys the service (railwayapp/cli src/commands/scale.rs): every pool line
# restarts once, its auth state kept in PostgreSQL; the replacement replicas take the lines the
# old ones release on SIGTERM.
#
# Pinned (the alternative: one service per line, `SESSION_ID` set, nothing else restarts):
#
#   GATEWAY_URL=... WAMESH_API_KEY=... IMAGE=ghcr.io/<owner>/wamesh-session:latest \
#     ./deploy/railway/add-line.sh --pinned "Shop line"
#
# A pinned line is stopped for the pool at once (POST /v1/sessions/{id}/stop), so no pool
# replica takes it before its own service starts; its pinned worker serves it regardless.
#
# Needs the Railway CLI (`npm i -g @railway/cli`, then `railway login` and `railway link` to the
# project), curl and python3. The shared variables (DATABASE_URL, REDIS_URL, WAMESH_AUTH_KEY,
# WAMESH_MESH_TOKEN) are referenced from the project's shared variables, see the README.
set -euo pipefail
pinned=false
if [ "${1:-}" = "--pinned" ]; then
  pinned=true
  shift
fi
name="${1:?usage: add-line.sh [--pinned] <line name>}"
: "${GATEWAY_URL:?set GATEWAY_URL}" "${WAMESH_API_KEY:?set WAMESH_API_KEY}"

api() {
  curl -sf -X "$1" "$GATEWAY_URL$2" -H "X-Api-Key: $WAMESH_API_KEY" \
    -H 'Content-Type: application/json' ${3:+-d "$3"}
}

created=$(api POST /v1/sessions "$(python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "engine": "browser"}))' "$name")")
id=$(printf '%s' "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"]["id"])')
secret=$(printf '%s' "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["webhook_secret"])')

if [ "$pinned" = true ]; then
  : "${IMAGE:?set IMAGE}"
  api POST "/v1/sessions/$id/stop" >/dev/null
  service="session-${id:0:8}"
  railway add --service "$service" --image "$IMAGE" \
    --variables "SESSION_ID=$id" \
    --variables 'DATABASE_URL=${{shared.DATABASE_URL}}' \
    --variables 'REDIS_URL=${{shared.REDIS_URL}}' \
    --variables 'WAMESH_AUTH_KEY=${{shared.WAMESH_AUTH_KEY}}' \
    --variables 'WAMESH_MESH_TOKEN=${{shared.WAMESH_MESH_TOKEN}}' \
    --variables 'WAMESH_ADVERTISE_HOST=${{RAILWAY_PRIVATE_DOMAIN}}' \
    --variables 'WAMESH_GRPC_BIND_HOST=::' \
    --variables 'WAMESH_WORKER_GRPC_PORT=50061'
  echo "line $id ($name) -> pinned service $service"
else
  : "${RAILWAY_REGION:?set RAILWAY_REGION: the region of the pool service, see railway scale --help}"
  pool_service="${SESSION_SERVICE:-session-pool}"
  wanted=$(api GET /v1/sessions | python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["sessions"] if s.get("desired_state") == "started"))')
  railway scale --service "$pool_service" "--$RAILWAY_REGION" "$wanted"
  echo "line $id ($name) -> $pool_service, now $wanted replicas (one per line wanting a worker)"
fi
echo "its webhook secret (shown once): $secret"
echo "open the gateway's dashboard to scan its QR code"
