# Qdrant's REST API from inside a Qdrant container, whose image has neither curl nor wget: bash's /dev/tcp.
# Run it there, reading this file from stdin (docs/DEPLOY.md, "Backups"):
#
#   docker compose exec -T qdrant bash -s -- POST /collections/askdocs/snapshots < docker/qdrant-api.sh
#   docker compose exec -T qdrant bash -s -- PUT /collections/NAME/snapshots/recover '{"location": "file://..."}'
#
# Arguments: METHOD PATH [JSON BODY]. Prints the response (status line, headers, body); exit status 1 unless 2xx.
# QDRANT_PORT: the HTTP port inside the container (default 6333).
set -euo pipefail
export LC_ALL=C # Content-Length counts bytes
method=$1 path=$2 body=${3:-}
exec 3<>"/dev/tcp/127.0.0.1/${QDRANT_PORT:-6333}"
printf '%s %s HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
    "$method" "$path" "${#body}" "$body" >&3
response=$(cat <&3)
printf '%s\n' "$response"
[[ $response =~ ^HTTP/[0-9.]+\ 2[0-9][0-9] ]]
