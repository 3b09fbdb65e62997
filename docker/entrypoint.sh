#!/usr/bin/env bash
# Container entry point for chatkb.
#   (no argument) or "serve …"  → chatkb serve …  (API and web UI on $CHATKB_SERVER__PORT)
#   "-…" (options only)         → chatkb serve -…
#   a chatkb command ("doctor") → chatkb doctor …
#   any other program ("bash")  → that program
# CHATKB_API_KEY (16+ characters) becomes one admin key for the server, which refuses to
# listen beyond loopback without keys. Keys set in config.toml or CHATKB_SERVER__API_KEYS win.
set -euo pipefail

log() { printf 'chatkb-entrypoint: %s\n' "$*" >&2; }

check_home() {
    local home="${CHATKB_HOME:-/data}"
    mkdir -p "$home" 2>/dev/null || true
    if [[ ! -d "$home" || ! -w "$home" ]]; then
        log "$home is not writable by uid $(id -u); mount a volume there (docker run -v chatkb-data:$home)"
        log "or give the mounted folder to uid $(id -u): chown -R $(id -u) <host folder>"
        exit 1
    fi
}

api_key_from_env() {
    local key="${CHATKB_API_KEY:-}"
    [[ -z "$key" || -n "${CHATKB_SERVER__API_KEYS:-}" ]] && return 0
    if (( ${#key} < 16 )); then
        log "CHATKB_API_KEY must have at least 16 characters"
        exit 1
    fi
    if [[ ! "$key" =~ ^[A-Za-z0-9._~+/=-]+$ ]]; then
        log "CHATKB_API_KEY may hold letters, digits and ._~+/=- only"
        exit 1
    fi
    export CHATKB_SERVER__API_KEYS="[{\"name\": \"admin\", \"key\": \"$key\", \"access\": {\"*\": \"admin\"}}]"
}

main() {
    check_home
    api_key_from_env
    if [[ $# -eq 0 ]]; then
        set -- serve
    elif [[ "$1" == -* && "$1" != "--version" && "$1" != "--help" ]]; then
        set -- serve "$@"
    fi
    if [[ "$1" != "chatkb" ]] && command -v "$1" >/dev/null 2>&1; then
        exec "$@"
    fi
    [[ "$1" == "chatkb" ]] && shift
    exec chatkb "$@"
}

main "$@"
