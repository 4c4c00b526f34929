#!/usr/bin/env bash
# make image-test: the Dockerfile builds on this machine, and its image runs the mesh.
#
#  1. Starts a Docker daemon of its own (Debian's docker.io): data in .run/docker, its own socket
#     and exec root, no bridge and no iptables rules, so it meets no other daemon or network.
#  2. Makes the base image once, as no image registry is reachable: debootstrap (minbase,
#     bookworm, the Debian mirror apt uses) plus this machine's node and npm, docker import.
#     It stays in .run/docker; later runs skip this.
#  3. Builds the image with BuildKit. npm's CA certificates go to the npm ci step only, as a build
#     secret; then proves none of this machine's own CAs is anywhere in the image.
#  4. Per TX_MODE (saga, then xa): one container per process, as deploy/k8s runs them, with the
#     host's network and this run's own ports, databases, Redis keys and RabbitMQ vhost, in
#     production mode with secrets made for this run. Migrations run with the image first. Then
#     it books and pays through the gateway (201 PAID) and sees the data-platform mock get it.
#  5. Always, pass or fail: removes the containers, the run's databases, keys and vhost, and
#     stops the daemon it started.
# --network host everywhere: the daemon has no bridge, and MariaDB, Redis and RabbitMQ listen on
# this machine's loopback. Needs root (dockerd, debootstrap, chroot). docs/image.md.
#
# env: IMAGE (default boxoffice:dev, in this script's daemon only); DB_URL, REDIS_URL, AMQP_URL
#      as everywhere (lib/config.ts); IMAGE_TEST_INSTALL=0: never apt-get install, fail instead
set -eEuo pipefail
# Loud: whatever fails names itself (fail() says more where it can); once, as the callers of a
# failed function fail too.
trap 'printf "[image-test] ERROR: line %s: %s exited %s\n" "$LINENO" "$BASH_COMMAND" "$?" >&2; trap - ERR' ERR

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR=$REPO/.run
STATE=$RUN_DIR/image-test
SOCK=$RUN_DIR/docker.sock
# Debian's client, not whatever `docker` PATH finds: without the buildx plugin a newer client
# falls back to the legacy builder, which has no build secrets; this one has BuildKit built in.
DOCKER=(/usr/bin/docker -H "unix://$SOCK")
DOCKERD=/usr/sbin/dockerd
IMAGE=${IMAGE:-boxoffice:dev}
BASE_IMAGE=boxoffice-base:bookworm-node20
DB_URL=${DB_URL:-mysql://root@127.0.0.1:3306}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
HELPER=(node "$REPO/scripts/image-test.mjs")
LABEL=boxoffice.image-test

DOCKERD_PID=
RUN_ID=
TX_MODE=
declare -a PROCESSES=() RUN_ENV=() ARGS=() TIMINGS=()
declare -A METRICS_PORT=() RUN_VAR=()
STARTED=$EPOCHREALTIME

log() { printf '[image-test] %s\n' "$*"; }
fail() {
  printf '[image-test] ERROR: %s\n' "$*" >&2
  exit 1
}
# Shows the end of a log file, indented, on stderr.
show() { tail -n "${2:-20}" "$1" | sed 's/^/    /' >&2; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }
# timed LABEL COMMAND...: runs it and keeps its duration for the summary.
STEP=
STEP_STARTED=
timed() {
  STEP=$1
  STEP_STARTED=$EPOCHREALTIME
  shift
  log "$STEP"
  "$@"
  TIMINGS+=("$(printf '%-50s %8s' "$STEP" "$(since "$STEP_STARTED")")")
  STEP=
}

# ================================ The environment of every container ================================
# The one place that says what a container of this run gets. As on Kubernetes: production mode,
# its own keys only (a read-only MESH_KEYS_DIR, made by mesh_keys), a read-only root filesystem
# with a /tmp, no capabilities. Unlike it: the host's network, so each
# process listens on ports of this run's own (from run-create), as its variables say.
# $1: the SERVICES of a mesh process; nothing for a one-off command (migrate, token).
container_args() {
  ARGS=(
    --network host --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges
    -e NODE_ENV=production
    # Names only: docker takes the values from this script's environment, so the run's
    # secrets are in no command line and no file.
    -e AUTH_JWT_SECRET -e QUEUE_TOKEN_SECRET
    -e "TX_MODE=$TX_MODE"
    -e "DB_URL=$DB_URL" -e "REDIS_URL=$REDIS_URL"
    # Migrations are a step of their own, as the init containers are on Kubernetes.
    -e DB_MIGRATE_ON_START=false
    # A quick waiting-room tick, so the booking is admitted at once.
    -e QUEUE_ADMIT_INTERVAL_MS=100
    # This run's databases, Redis key prefix, vhost, gRPC/gateway ports and DATAPLATFORM_URL.
    "${RUN_ENV[@]}"
  )
  if [[ -n ${1:-} ]]; then
    ARGS+=(-e "SERVICES=$1" -e "OTEL_SERVICE_NAME=boxoffice-$1" -e "METRICS_PORT=${METRICS_PORT[$1]}")
    ARGS+=(-v "$KEYS/$1:/etc/boxoffice/mesh:ro" -e MESH_KEYS_DIR=/etc/boxoffice/mesh)
  fi
}
# ====================================================================================================

install_missing() {
  local missing=()
  [[ -x $DOCKERD && -x /usr/bin/docker ]] || missing+=(docker.io)
  [[ -x /usr/sbin/debootstrap ]] || missing+=(debootstrap)
  ((${#missing[@]})) || return 0
  [[ ${IMAGE_TEST_INSTALL:-1} != 0 ]] || fail "missing: ${missing[*]} (IMAGE_TEST_INSTALL=0)"
  log "apt-get install -y ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A daemon of an earlier run that was killed before it could stop its own (the lock says no run
# is going on): stopped, so this run starts on a data root no one else uses.
stop_stale_daemon() {
  local pid
  pid=$(cat "$STATE/dockerd.pid" 2>/dev/null) || return 0
  if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--data-root $RUN_DIR/docker "; then
    log "stopping the daemon an earlier run left (pid $pid)"
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$STATE/dockerd.pid"
}

start_daemon() {
  stop_stale_daemon
  mkdir -p "$RUN_DIR/docker" "$RUN_DIR/docker-exec"
  # Its own (empty) configuration: an /etc/docker/daemon.json of the machine does not apply.
  # Without the lock's descriptor (9), so a daemon left behind does not hold the lock.
  echo '{}' >"$STATE/daemon.json"
  "$DOCKERD" --config-file "$STATE/daemon.json" --bridge=none --iptables=false --ip6tables=false \
    --data-root "$RUN_DIR/docker" --exec-root "$RUN_DIR/docker-exec" -H "unix://$SOCK" \
    --pidfile "$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 9>&- &
  DOCKERD_PID=$!
  local deadline=$((SECONDS + 30))
  until "${DOCKER[@]}" version >/dev/null 2>&1; do
    if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
      DOCKERD_PID=
      show "$STATE/dockerd.log"
      fail "dockerd exited (log: $STATE/dockerd.log)"
    fi
    ((SECONDS < deadline)) || fail "dockerd did not answer within 30 s (log: $STATE/dockerd.log)"
    sleep 0.2
  done
  log "dockerd $("${DOCKER[@]}" version -f '{{.Server.Version}}'), pid $DOCKERD_PID, socket $SOCK"
  # Containers of a run that never got to remove them.
  "${DOCKER[@]}" ps -aq --filter "label=$LABEL" | xargs -r "${DOCKER[@]}" rm -f >/dev/null
}

stop_daemon() {
  kill -TERM "$DOCKERD_PID" 2>/dev/null || return 0
  local deadline=$((SECONDS + 30))
  while kill -0 "$DOCKERD_PID" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "dockerd did not stop within 30 s: kill -9"
      kill -KILL "$DOCKERD_PID"
    fi
    sleep 0.2
  done
  wait "$DOCKERD_PID" 2>/dev/null || true
  # The one mount dockerd leaves behind: its network namespace.
  if mountpoint -q "$RUN_DIR/docker-exec/netns/default"; then umount "$RUN_DIR/docker-exec/netns/default"; fi
  log "dockerd (pid $DOCKERD_PID) stopped"
}

make_base_image() {
  if "${DOCKER[@]}" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "$BASE_IMAGE is there (made by an earlier run): kept"
    return
  fi
  local mirror node npm_dir rootfs=$STATE/rootfs
  # shellcheck disable=SC2016 # $(REPO_URI) is apt's placeholder, not the shell's
  mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Release: bookworm' 'Identifier: Packages' | awk 'NR == 1')
  [[ -n $mirror ]] || fail "apt knows no Debian bookworm mirror (/etc/apt/sources.list*)"
  node=$(command -v node)
  [[ $("$node" -p 'process.versions.node.split(".")[0]') == 20 ]] ||
    fail "the base image is Node 20; $node is $("$node" --version)"
  # npm's package folder, e.g. /usr/lib/node_modules/npm (its bin/npm-cli.js is what `npm` runs).
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  [[ -f $npm_dir/bin/npm-cli.js ]] || fail "no npm package folder at $npm_dir"
  log "debootstrap --variant=minbase bookworm from $mirror; node $("$node" --version), npm $(npm --version) of this machine"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$STATE/debootstrap.log" 2>&1 ||
    {
      show "$STATE/debootstrap.log"
      fail "debootstrap failed (log: $STATE/debootstrap.log)"
    }
  install -m 0755 "$node" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  # A builtin npmrc would carry this machine's npm settings into every image.
  rm -f "$rootfs/usr/local/lib/node_modules/npm/npmrc"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # The user of the official Node images, uid/gid 1000: the Dockerfile runs as 1000:1000.
  chroot "$rootfs" groupadd --gid 1000 node
  chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  # Apt's caches and this machine's name and resolver: no part of an image (docker sets the
  # last two per container).
  rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  : >"$rootfs/etc/resolv.conf"
  echo localhost >"$rootfs/etc/hostname"
  chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin npm --version >/dev/null
  tar -C "$rootfs" --numeric-owner -c . |
    "${DOCKER[@]}" import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

# The CA file npm uses here (its cafile, else NODE_EXTRA_CA_CERTS); nothing if neither is set.
npm_ca_file() {
  local ca
  ca=$(cd "$REPO" && npm config get cafile)
  [[ $ca != null && -n $ca ]] || ca=${NODE_EXTRA_CA_CERTS:-}
  [[ -z $ca || -r $ca ]] || fail "npm's CA file $ca is not readable"
  printf '%s' "$ca"
}

build_image() {
  local ca secret=()
  ca=$(npm_ca_file)
  if [[ -n $ca ]]; then
    secret=(--secret "id=npm_ca,src=$ca")
    log "npm here trusts $ca: a build secret of the npm ci step, in no layer"
  fi
  DOCKER_BUILDKIT=1 "${DOCKER[@]}" build --network host --progress plain "${secret[@]}" \
    --build-arg "NODE_IMAGE=$BASE_IMAGE" -t "$IMAGE" "$REPO" >"$STATE/build.log" 2>&1 ||
    {
      show "$STATE/build.log" 40
      fail "docker build failed (log: $STATE/build.log)"
    }
  log "$IMAGE: $("${DOCKER[@]}" image inspect -f '{{.Id}}, {{.Size}} bytes' "$IMAGE")"
}

# None of the CA certificates this machine adds to Node's own, in any file of the image; no
# npm configuration; no CA setting in its environment or history.
check_no_machine_ca() {
  local ca file patterns=$STATE/extra-ca.txt cid found
  ca=$(npm_ca_file)
  for file in ${ca:+"$ca"} ${NODE_EXTRA_CA_CERTS:+"$NODE_EXTRA_CA_CERTS"} /usr/local/share/ca-certificates/*.crt; do
    if [[ -r $file ]]; then "${HELPER[@]}" extra-ca "$file"; fi
  done | sort -u >"$patterns"
  if [[ -s $patterns ]]; then
    cid=$("${DOCKER[@]}" create "$IMAGE")
    "${DOCKER[@]}" export -o "$STATE/image.tar" "$cid"
    "${DOCKER[@]}" rm "$cid" >/dev/null
    found=$(grep -a -c -F -f "$patterns" "$STATE/image.tar" || true)
    rm -f "$STATE/image.tar"
    ((found == 0)) || fail "the image holds this machine's CA certificates ($found matches)"
  fi
  found=$("${DOCKER[@]}" run --rm --network host --user 0 --entrypoint sh "$IMAGE" -c \
    'find / -xdev \( -name .npmrc -o -name npmrc -o -name ca-certificates.crt \) -print')
  [[ -z $found ]] || fail "npm configuration or a CA bundle in the image: $found"
  found=$( (
    "${DOCKER[@]}" image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE"
    "${DOCKER[@]}" history --no-trunc --format '{{.CreatedBy}}' "$IMAGE"
  ) | grep -iE 'npm_ca|cafile|CA_CERT|/run/secrets' || true)
  [[ -z $found ]] || fail "a CA setting in the image's environment or history: $found"
  log "none of the $(wc -l <"$patterns") CA certificates this machine adds to Node's is in the image; no npmrc, no CA bundle, no CA setting"
}

create_run() {
  local out key value
  out=$("${HELPER[@]}" run-create)
  while IFS='=' read -r key value; do
    case $key in
      RUN_ID) RUN_ID=$value ;;
      metrics.*)
        PROCESSES+=("${key#metrics.}")
        METRICS_PORT[${key#metrics.}]=$value
        ;;
      *)
        RUN_ENV+=(-e "$key=$value")
        RUN_VAR[$key]=$value
        ;;
    esac
  done <<<"$out"
  # Strong, new per run: production mode refuses the development ones.
  AUTH_JWT_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  QUEUE_TOKEN_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  export AUTH_JWT_SECRET QUEUE_TOKEN_SECRET
  mesh_keys
  log "run $RUN_ID: databases ${RUN_VAR[DB_NAME_PREFIX]}*, Redis keys ${RUN_VAR[REDIS_KEY_PREFIX]}*, vhost $RUN_ID, gateway port ${RUN_VAR[GATEWAY_PORT]}"
}

# A new key set per run (cmd/keys.ts), then one directory per process holding what its pod would
# on Kubernetes: its own private key, every public key, tx.key for the coordinator and the
# participants; readable by the containers' uid (1000) only.
mesh_keys() {
  KEYS=$STATE/keys-$RUN_ID
  node "$REPO/dist/cmd/keys.js" --out "$KEYS/all" >/dev/null
  local p
  for p in "${PROCESSES[@]}"; do
    mkdir -p "$KEYS/$p"
    cp "$KEYS/all/"*.pub "$KEYS/$p/"
    [[ ! -e $KEYS/all/$p.key ]] || cp "$KEYS/all/$p.key" "$KEYS/$p/"
    case $p in coordinator | concert | reservation | payment | point) cp "$KEYS/all/tx.key" "$KEYS/$p/" ;; esac
    chown -R 1000:1000 "$KEYS/$p"
    chmod 0500 "$KEYS/$p"
  done
  rm -rf "$KEYS/all"
}

remove_run() {
  [[ -z ${KEYS:-} ]] || rm -rf "$KEYS"
  DB_NAME_PREFIX=${RUN_VAR[DB_NAME_PREFIX]} REDIS_KEY_PREFIX=${RUN_VAR[REDIS_KEY_PREFIX]} \
    "${HELPER[@]}" run-remove "$RUN_ID"
}

migrate() {
  container_args
  "${DOCKER[@]}" run --rm "${ARGS[@]}" --entrypoint node "$IMAGE" dist/cmd/migrate.js | sed 's/^/    /'
}

start_mesh() {
  local p name deadline=$((SECONDS + 60))
  local -a pending still
  for p in "${PROCESSES[@]}"; do
    container_args "$p"
    "${DOCKER[@]}" run -d --name "bo-$RUN_ID-$p" --label "$LABEL=$RUN_ID" "${ARGS[@]}" "$IMAGE" >/dev/null
  done
  # Every process logs "mesh ready" once each of its services started; none may exit.
  pending=("${PROCESSES[@]}")
  while ((${#pending[@]})); do
    ((SECONDS < deadline)) || fail "not started within 60 s: ${pending[*]}"
    sleep 0.5
    name=$("${DOCKER[@]}" ps -a --filter "label=$LABEL" --filter status=exited --format '{{.Names}}')
    [[ -z $name ]] || fail "exited: $name"
    still=()
    for p in "${pending[@]}"; do
      [[ $("${DOCKER[@]}" logs "bo-$RUN_ID-$p" 2>&1) == *'"msg":"mesh ready"'* ]] || still+=("$p")
    done
    pending=("${still[@]}")
  done
}

pay() {
  local admin user
  container_args
  admin=$("${DOCKER[@]}" run --rm "${ARGS[@]}" --entrypoint node "$IMAGE" dist/cmd/token.js --user ops --admin)
  user=$("${DOCKER[@]}" run --rm "${ARGS[@]}" --entrypoint node "$IMAGE" dist/cmd/token.js --user "buyer-$TX_MODE")
  GATEWAY_URL=http://127.0.0.1:${RUN_VAR[GATEWAY_PORT]} DATAPLATFORM_URL=${RUN_VAR[DATAPLATFORM_URL]} \
    ADMIN_TOKEN=$admin USER_TOKEN=$user "${HELPER[@]}" pay "$TX_MODE" | sed 's/^/    /'
}

# SIGTERM to every process, as Kubernetes stops a pod; each must exit 0. Logs are kept.
stop_mesh() {
  local p name code bad=()
  mkdir -p "$STATE/logs"
  "${DOCKER[@]}" stop -t 20 "${PROCESSES[@]/#/bo-$RUN_ID-}" >/dev/null
  for p in "${PROCESSES[@]}"; do
    name=bo-$RUN_ID-$p
    "${DOCKER[@]}" logs "$name" >"$STATE/logs/$TX_MODE-$p.log" 2>&1
    code=$("${DOCKER[@]}" inspect -f '{{.State.ExitCode}}' "$name")
    ((code == 0)) || bad+=("$p exited $code")
    "${DOCKER[@]}" rm "$name" >/dev/null
  done
  ((${#bad[@]} == 0)) || fail "after SIGTERM: ${bad[*]} (logs: $STATE/logs/)"
}

# Pass or fail: containers, then the run's data, then the daemon; the timings last.
cleanup() {
  local status=$? name
  trap - EXIT INT TERM
  set +e
  if [[ -n $DOCKERD_PID ]]; then
    mkdir -p "$STATE/logs"
    for name in $("${DOCKER[@]}" ps -a --filter "label=$LABEL" --format '{{.Names}}'); do
      "${DOCKER[@]}" logs "$name" >"$STATE/logs/$name.log" 2>&1
      if ((status != 0)); then
        log "$name ($("${DOCKER[@]}" inspect -f '{{.State.Status}}' "$name")), its last lines:"
        show "$STATE/logs/$name.log" 8
      fi
      "${DOCKER[@]}" rm -f "$name" >/dev/null
    done
  fi
  if [[ -n $RUN_ID ]]; then
    remove_run || {
      log "ERROR: could not remove run $RUN_ID's databases, keys or vhost"
      status=1
    }
  fi
  if [[ -n $DOCKERD_PID ]]; then
    # Only what this run made unreachable: the image the new build replaced, old build cache.
    "${DOCKER[@]}" image prune -f >/dev/null
    "${DOCKER[@]}" builder prune -f --keep-storage 4GB >/dev/null
    stop_daemon
  fi
  [[ -z $STEP ]] || TIMINGS+=("$(printf '%-50s %8s  FAILED' "$STEP" "$(since "$STEP_STARTED")")")
  log "timings:"
  printf '    %s\n' "${TIMINGS[@]}"
  if ((status == 0)); then
    log "PASSED in $(since "$STARTED")"
  else
    log "FAILED after $(since "$STARTED") (logs: $STATE/)"
  fi
  exit "$status"
}

main() {
  ((EUID == 0)) || fail "needs root: it starts dockerd and runs debootstrap"
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock -n 9 || fail "another image-test runs in this checkout"
  trap cleanup EXIT
  trap 'log interrupted; exit 130' INT
  trap 'log terminated; exit 143' TERM
  timed "install docker.io and debootstrap if missing" install_missing
  timed "start dockerd" start_daemon
  timed "base image $BASE_IMAGE" make_base_image
  timed "docker build $IMAGE" build_image
  timed "check: no CA certificate of this machine in it" check_no_machine_ca
  timed "run databases, keys and vhost" create_run
  TX_MODE=saga
  timed "migrate (the image's dist/cmd/migrate.js)" migrate
  for TX_MODE in saga xa; do
    timed "$TX_MODE: start ${#PROCESSES[@]} containers" start_mesh
    timed "$TX_MODE: pay through the gateway" pay
    timed "$TX_MODE: stop the containers (SIGTERM, exit 0)" stop_mesh
  done
}

main "$@"
