#!/usr/bin/env bash
# Build chatkb's CPU image and smoke-test it, as CI does on every change.
#   bash scripts/image_smoke.sh          (from anywhere; as root on Debian 12, or with podman)
# Steps:
#   1. podman (with runc), mmdebstrap and skopeo, installed with apt-get when missing;
#   2. a base image: python:3.11-slim-bookworm if the engine already has it, else a stand-in
#      made from Debian packages with mmdebstrap (no container registry needed), kept as a
#      tarball in the cache folder and reused by later runs;
#   3. the image from Dockerfile, timed; its size (uncompressed and gzip layers) against a
#      budget that fails the run;
#   4. the image run with no network: --version, doctor, kb create / add / ask on samples/
#      (English and Chinese), the entry point's refusals, `serve` with CHATKB_API_KEY probed
#      from inside the container (health, /docs, 401 without the key, search and chat), uid and
#      gid 10001;
#   5. upgrades: the previous release's image (built from git) creates a knowledge base and a
#      conversation on a named volume; this image opens both and answers; then it is restarted
#      in the middle of an ingestion job and what became of the job is checked and printed.
# Env: CHATKB_IMAGE (tag), CHATKB_IMAGE_WORK (scratch), CHATKB_IMAGE_CACHE (the base tarball;
#      /var/cache/chatkb-ci), CHATKB_IMAGE_MAX_BYTES (850000000), CHATKB_IMAGE_PREVIOUS (a git
#      ref of the previous release, "none" to skip step 5), CHATKB_IMAGE_REBUILD_BASE=1.
# Closing line: "image-smoke: N passed, M failed" (exit 1 if any failed), or
# "image-smoke: skipped: <why>" (exit 0) where no container engine can run.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f Dockerfile && -d samples ]] || { echo "not a chatkb checkout" >&2; exit 2; }

WORK=${CHATKB_IMAGE_WORK:-/tmp/chatkb-image}
CACHE=${CHATKB_IMAGE_CACHE:-/var/cache/chatkb-ci}
IMAGE=${CHATKB_IMAGE:-localhost/chatkb:cpu}
MAX_BYTES=${CHATKB_IMAGE_MAX_BYTES:-850000000}
# 0.1.0, the first release, has no tag: its commit stands in until releases are tagged.
PREVIOUS=${CHATKB_IMAGE_PREVIOUS:-$(git describe --tags --abbrev=0 2>/dev/null || echo 963860b)}
KEY=ci-smoke-key-0123456789abcdef
CTR=chatkb-smoke-$$
VOL=chatkb-smoke-data-$$
UPVOL=chatkb-smoke-upgrade-$$
PROBE=$PWD/scripts/image_smoke_api.py
mkdir -p "$WORK"
# Engine messages (podman finds no systemd for healthcheck timers here and says so at every
# start and stop) go to a log, not into CI's output.
ENGINE_LOG=$WORK/engine.log
passed=0 failed=0
log() { printf '\n== %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
skip() { printf '\nimage-smoke: skipped: %s\n' "$*"; exit 0; }

# --- 1. tools ---------------------------------------------------------------------------------
missing=()
for tool in podman runc mmdebstrap skopeo; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    skip "no ${missing[*]} here, and no apt-get as root to install them"
  fi
  log "installing ${missing[*]}"
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || skip "apt-get could not install ${missing[*]}"
fi

# --- 2. engine settings for this kind of VM ---------------------------------------------------
# crun 1.8 refuses the hybrid cgroup layout ("cgroups in hybrid mode not supported"): use runc.
# root lacks CAP_SYS_RESOURCE, so podman's default rlimits (nofile 1048576, nproc 4194304) fail
# with "setrlimit RLIMIT_NOFILE: Operation not permitted": stay within the current hard limits.
nofile=$(ulimit -Hn); [[ $nofile == unlimited || $nofile -gt 1048576 ]] && nofile=1048576
nproc=$(ulimit -Hu); [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$WORK/containers.conf
podman info >/dev/null 2>"$WORK/info.err" || skip "podman cannot run here: $(tail -1 "$WORK/info.err")"

# --- 3. base image ----------------------------------------------------------------------------
BASE=docker.io/library/python:3.11-slim-bookworm
if ! podman image exists "$BASE"; then
  BASE=localhost/chatkb-base:bookworm-py311
  tarball=$CACHE/base-bookworm-py311.tar
  mkdir -p "$CACHE" 2>/dev/null && [[ -w $CACHE ]] || tarball=$WORK/base-bookworm-py311.tar
  if [[ ${CHATKB_IMAGE_REBUILD_BASE:-0} == 1 ]]; then rm -f "$tarball"; podman rmi -f "$BASE" >/dev/null 2>&1 || true; fi
  if ! podman image exists "$BASE"; then
    if [[ ! -s $tarball ]]; then
      log "making a stand-in for python:3.11-slim-bookworm with mmdebstrap ($tarball)"
      started=$SECONDS
      sources=/etc/apt/sources.list.d/debian.sources
      [[ -f $sources ]] || sources=/etc/apt/sources.list
      # Trimmed like Docker's official *-slim images: no man pages, docs, locales, info.
      mmdebstrap --quiet --variant=minbase --format=tar \
        --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        bookworm "$tarball.part" "$sources"
      mv "$tarball.part" "$tarball"
      echo "stand-in base made in $((SECONDS - started)) s"
    fi
    podman import --quiet --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' "$tarball" "$BASE" >/dev/null
  fi
fi
podman run --rm --network none "$BASE" true 2>"$WORK/run.err" ||
  skip "podman cannot start a container here: $(tail -1 "$WORK/run.err")"
echo "base image: $BASE"

# --- 4. build ---------------------------------------------------------------------------------
mounts=()
# Where HTTPS goes through an intercepting proxy, pip inside RUN needs the host's CA bundle:
# mounted over the base's bundle for the build only, so that it does not end up in the image.
# (Not /etc/pip.conf the same way: buildah leaves an empty mount-point file behind.)
[[ -f /etc/ssl/certs/ca-certificates.crt ]] &&
  mounts+=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
build() { # build TAG CONTEXT LOG: --network host needs no CNI bridge; docker format keeps HEALTHCHECK
  podman build --network host --pull=never --format docker "${mounts[@]}" \
    --build-arg PYTHON_IMAGE="$BASE" -t "$1" -f "$2/Dockerfile" "$2" >"$3" 2>&1 ||
    { tail -40 "$3"; return 1; }
}
log "building $IMAGE from Dockerfile"
started=$SECONDS
if ! build "$IMAGE" . "$WORK/build.log"; then
  bad "podman build"
  echo; echo "image-smoke: $passed passed, $failed failed"; exit 1
fi
build_s=$((SECONDS - started))
podman image prune -f >/dev/null # the untagged build stage
ok "podman build ($build_s s)"
no_extra_warning() { ! grep -i "does not provide the extra" "$WORK/build.log"; }
check "the build warns of no missing extra" no_extra_warning

# --- 5. size ----------------------------------------------------------------------------------
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
rm -rf "$WORK/oci"
skopeo copy -q "containers-storage:$IMAGE" "oci:$WORK/oci:chatkb" 2>>"$ENGINE_LOG"
compressed=$(python3 - "$WORK/oci" <<'EOF'
import json, sys
d = sys.argv[1]
digest = json.load(open(f"{d}/index.json"))["manifests"][0]["digest"].split(":")[1]
print(sum(layer["size"] for layer in json.load(open(f"{d}/blobs/sha256/{digest}"))["layers"]))
EOF
)
rm -rf "$WORK/oci"
base_size=$(podman image inspect "$BASE" --format '{{.Size}}')
printf 'image %s: %d MB uncompressed (%s bytes; base %d MB), %d MB of gzip layers; budget %d MB; built in %d s\n' \
  "$IMAGE" $((size / 1000000)) "$size" $((base_size / 1000000)) $((compressed / 1000000)) \
  $((MAX_BYTES / 1000000)) "$build_s"
check "image size $((size / 1000000)) MB <= $((MAX_BYTES / 1000000)) MB" test "$size" -le "$MAX_BYTES"

# --- 6. commands ------------------------------------------------------------------------------
cleanup() {
  podman rm -f -t 2 "$CTR" >/dev/null 2>&1 || true
  podman volume rm -f "$VOL" "$UPVOL" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# One-off commands: no network at all, the data volume, samples/ read-only.
run() {
  podman run --rm --network none --no-healthcheck -v "$VOL:/data" \
    -v "$PWD/samples:/samples:ro" "$IMAGE" "$@"
}
log "commands"
check "chatkb --version" run --version
check "chatkb doctor" run doctor
check "config: user 10001:10001, entry point, CMD serve, healthcheck" test \
  "$(podman image inspect "$IMAGE" --format '{{.Config.User}} {{.Config.Entrypoint}} {{.Config.Cmd}} {{if .Config.Healthcheck}}hc{{end}}')" \
  = "10001:10001 [chatkb-entrypoint] [serve] hc"
check "/data is owned by chatkb:chatkb (10001:10001)" test \
  "$(run stat -c '%u:%g %U:%G' /data)" = "10001:10001 chatkb:chatkb"
check "kb create" run kb create demo --exist-ok
check "add samples/" run add demo /samples
answer=$(run ask demo "How many vacation days do new employees get?" 2>&1 || true)
printf '%s\n' "$answer" | head -3
check "ask (English) quotes 25 days" grep -q "25 days" <<<"$answer"
answer=$(run ask demo "住宿标准是多少？" 2>&1 || true)
check "ask (Chinese) quotes 600元" grep -q "600元" <<<"$answer"
refusal=$(podman run --rm --network none --no-healthcheck -e CHATKB_API_KEY=short "$IMAGE" 2>&1 || true)
check "entry point refuses a short CHATKB_API_KEY" grep -q "at least 16 characters" <<<"$refusal"
refusal=$(podman run --rm --network none --no-healthcheck "$IMAGE" 2>&1 || true)
check "serve refuses 0.0.0.0 without keys, naming [[server.api_keys]]" \
  grep -q "refusing to listen.*Add \[\[server.api_keys\]\] entries" <<<"${refusal//$'\n'/ }"

# --- 7. serve ---------------------------------------------------------------------------------
serve() { # serve IMAGE VOLUME: a detached server, no network; its probe mounted read-only
  podman rm -f -t 2 "$CTR" >/dev/null 2>&1 || true
  podman run -d --name "$CTR" --network none -v "$2:/data" -v "$PROBE:/probe.py:ro" \
    -e CHATKB_API_KEY="$KEY" "$1" >/dev/null 2>"$WORK/run.err" || { cat "$WORK/run.err"; return 1; }
  local _
  for _ in $(seq 1 120); do
    podman exec "$CTR" python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:7861/api/health', timeout=3)" 2>/dev/null && return 0
    sleep 1
  done
  podman logs "$CTR" 2>&1 | tail -5
  return 1
}
probe() { podman exec -e KEY="$KEY" "$CTR" python /probe.py "$@"; }
log "serve"
if serve "$IMAGE" "$VOL"; then
  ok "serve: GET /api/health"
  # (podman logs errors here about systemd timers: there is no systemd; the check runs by hand.)
  check "the image's HEALTHCHECK" podman healthcheck run "$CTR"
  check "API: /docs, web UI, 401 without the key, kbs, search, chat" probe api
  check "server runs as uid 10001, gid 10001" test "$(podman exec "$CTR" id -u):$(podman exec "$CTR" id -g)" = 10001:10001
  check "no build leftovers (/tmp/wheels, /etc/pip.conf)" \
    podman exec "$CTR" sh -c '! test -e /tmp/wheels && ! test -e /etc/pip.conf'
else
  bad "serve: GET /api/health within 120 s"
fi

# --- 8. upgrades ------------------------------------------------------------------------------
if [[ $PREVIOUS != none ]] && git rev-parse -q --verify "$PREVIOUS^{commit}" >/dev/null; then
  old=localhost/chatkb:$(git rev-parse --short "$PREVIOUS^{commit}")
  log "upgrade: $old (from $PREVIOUS) -> $IMAGE on volume $UPVOL"
  if ! podman image exists "$old"; then
    rm -rf "$WORK/previous" && mkdir -p "$WORK/previous"
    git archive "$PREVIOUS" | tar -x -C "$WORK/previous"
    started=$SECONDS
    build "$old" "$WORK/previous" "$WORK/build-previous.log" || bad "build $old"
    echo "previous image built in $((SECONDS - started)) s"
    podman image prune -f >/dev/null
  fi
  conversation=""
  if podman image exists "$old" &&
    podman run --rm --network none --no-healthcheck -v "$UPVOL:/data" -v "$PWD/samples:/samples:ro" \
      "$old" kb create demo >/dev/null 2>&1 &&
    podman run --rm --network none --no-healthcheck -v "$UPVOL:/data" -v "$PWD/samples:/samples:ro" \
      "$old" add demo /samples >/dev/null 2>&1 &&
    serve "$old" "$UPVOL"; then
    conversation=$(probe seed | tail -1)
    podman stop -t 10 "$CTR" >/dev/null 2>>"$ENGINE_LOG"
  fi
  check "previous image: knowledge base and a conversation on $UPVOL" test -n "$conversation"
  podman run --rm --network none --no-healthcheck -v "$UPVOL:/data" "$IMAGE" ls -l /data /data/kb | sed 's/^/  /' || true
  if [[ -n $conversation ]] && serve "$IMAGE" "$UPVOL"; then
    check "new image opens the old volume: kb, conversation, follow-up answer" probe upgraded "$conversation"
    job=$(probe ingest-start | tail -1)
    check "an ingestion job is running" test -n "$job"
    echo "restarting it mid-ingest: SIGTERM, SIGKILL after 3 s (podman restart -t 3)"
    podman restart -t 3 "$CTR" >/dev/null 2>>"$ENGINE_LOG"
    serve_wait=0
    for _ in $(seq 1 120); do
      podman exec "$CTR" python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:7861/api/health', timeout=3)" 2>/dev/null && { serve_wait=1; break; }
      sleep 1
    done
    check "restarted mid-ingest: healthy again" test "$serve_wait" = 1
    check "after the restart the document is reported, indexed again and found" probe ingest-after "$job"
  else
    bad "new image serves the old volume"
  fi
  podman rm -f -t 2 "$CTR" >/dev/null 2>&1 || true
else
  echo "upgrade checks skipped: no previous release ($PREVIOUS)"
fi

echo
printf 'image %s: %d MB uncompressed, %d MB of gzip layers, built in %d s\n' \
  "$IMAGE" $((size / 1000000)) $((compressed / 1000000)) "$build_s"
echo "image-smoke: $passed passed, $failed failed"
((failed == 0))
