#!/usr/bin/env bash
# Add a WhatsApp line to a Railway project in one step: create the line through the gateway's API,
# then a session-worker service for it running the session image with its SESSION_ID.
#
#   GATEWAY_URL=https://<gateway>.up.railway.app WAMESH_API_KEY=... \
#   IMAGE=ghcr.io/<owner>/wamesh-session:latest ./deploy/railway/add-line.sh "Shop line"
#
# Needs the Railway CLI (`npm i -g @railway/cli`, then `railway login` and `railway link` to the
# project), curl and python3. The shared variables (DATABASE_URL, REDIS_URL, WAMESH_AUTH_KEY,
# WAMESH_MESH_TOKEN) are referenced from the project's shared variables, see the README.
set -euo pipefail
name="${1:?usage: add-line.sh <line name>}"
: "${GATEWAY_URL:?set GATEWAY_URL}" "${WAMESH_API_KEY:?set WAMESH_API_KEY}" "${IMAGE:?set IMAGE}"

created=$(curl -sf -X POST "$GATEWAY_URL/v1/sessions" -H "X-Api-Key: $WAMESH_API_KEY" \
  -H 'Content-Type: application/json' -d "$(python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "engine": "browser"}))' "$name")")
id=$(printf '%s' "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"]["id"])')
secret=$(printf '%s' "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["webhook_secret"])')
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

echo "line $id ($name) -> service $service"
echo "its webhook secret (shown once): $secret"
echo "open the gateway's dashboard to scan its QR code"
