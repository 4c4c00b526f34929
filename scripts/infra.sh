#!/usr/bin/env bash
# Local infrastructure: makes sure MariaDB, Redis and RabbitMQ answer where the mesh looks for
# them (DB_URL, REDIS_URL, AMQP_URL; defaults as in lib/config.ts). For one that does not, it
# installs the Debian package if its binaries are missing and starts a private instance without
# systemd, its data under $INFRA_DIR. It never stops or reconfigures a server it did not start.
#
# usage: scripts/infra.sh [up|status|stop] [mariadb] [redis] [rabbitmq]
#        scripts/infra.sh vhost add|delete NAME
#        scripts/infra.sh browser
#   up       (default) check each; start what does not answer; wait until it does
#   status   report each; exit 1 if any does not answer
#   stop     stop the private instances this script started for the configured ports
#   vhost    add (with full rights for the AMQP_URL user) or delete a RabbitMQ vhost on the
#            broker at AMQP_URL: tests run in a vhost of their own
#   browser  install Debian's chromium if /usr/bin/chromium is missing (the operator console's
#            browser test drives it)
#
# env: DB_URL     mysql://root@127.0.0.1:3306          AMQP_URL  amqp://guest:guest@127.0.0.1:5672
#      REDIS_URL  redis://127.0.0.1:6379
#      INFRA_DIR                 data of private instances, one folder per server and port
#                                (default <repo>/.run)
#      INFRA_TIMEOUT             seconds to wait for a server to answer (default 60)
#      INFRA_INSTALL=0           never apt-get install; fail instead
#      INFRA_RABBITMQ_DIST_PORT  Erlang distribution port of a private RabbitMQ (AMQP port + 20000)
#      INFRA_RABBITMQ_NODENAME   its node name (boxoffice-<AMQP port>@localhost)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INFRA_DIR=${INFRA_DIR:-$REPO/.run}
TIMEOUT=${INFRA_TIMEOUT:-60}
DB_URL=${DB_URL:-mysql://root@127.0.0.1:3306}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
# Debian keeps the server binaries in sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() {
  local comp=$1
  shift
  printf '[infra/%s] %s\n' "$comp" "$*"
}
fail() {
  local comp=$1
  shift
  printf '[infra/%s] ERROR: %s\n' "$comp" "$*" >&2
  exit 1
}
# Shows the end of a log file, indented, on stderr.
show_tail() {
  local file=$1
  [[ -f $file ]] || return 0
  printf '  --- last lines of %s ---\n' "$file" >&2
  tail -n 20 "$file" | sed 's/^/  | /' >&2
}

[[ $TIMEOUT =~ ^[0-9]+$ ]] || fail infra "INFRA_TIMEOUT must be a whole number of seconds, got '$TIMEOUT'"

# ---------------------------------------------------------------------------- URLs and hosts

urldecode() {
  local s=${1//\\/\\\\}
  printf '%b' "${s//%/\\x}"
}

# parse_url COMPONENT URL DEFAULT_PORT: sets U_USER U_PASS U_HOST U_PORT U_PATH.
parse_url() {
  local re='^[A-Za-z][A-Za-z0-9+.-]*://(([^:@/]*)(:([^@/]*))?@)?(\[[^]/]*\]|[^:/?#]*)(:([0-9]*))?(/[^?#]*)?'
  [[ $2 =~ $re ]] || fail "$1" "cannot parse URL '$2'"
  U_USER=$(urldecode "${BASH_REMATCH[2]}")
  U_PASS=$(urldecode "${BASH_REMATCH[4]}")
  U_HOST=${BASH_REMATCH[5]}
  U_HOST=${U_HOST#[}
  U_HOST=${U_HOST%]}
  U_HOST=${U_HOST:-127.0.0.1}
  U_PORT=${BASH_REMATCH[7]:-$3}
  U_PATH=${BASH_REMATCH[8]}
}

is_local() {
  case $1 in
    127.* | localhost | ::1) return 0 ;;
    *) return 1 ;;
  esac
}

# The address a private instance listens on for a URL host.
bind_addr() {
  if [[ $1 == ::1 ]]; then echo ::1; else echo 127.0.0.1; fi
}

# --------------------------------------------------------------------------------- probes
# Each probe_<server> HOST PORT returns 0 when the server answers as it should, 1 when nothing
# listens there, 2 when something listens but is not usable (the reason in PROBE_MSG).
PROBE_MSG=''

port_open() {
  # shellcheck disable=SC2016 # $1 $2 belong to the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# Bytes, as lowercase hex, that a server sends first after a payload (may be empty).
first_bytes() {
  local host=$1 port=$2 payload=$3 count=$4
  # shellcheck disable=SC2016 # $1..$4 belong to the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
    [[ -z $3 ]] || printf "$3" >&3
    head -c "$4" <&3' _ "$host" "$port" "$payload" "$count" 2>/dev/null | od -An -tx1 | tr -d ' \n' || true
}

# LOGIN_CHECK=0 while waiting for a fresh private instance: its accounts come after it answers.
LOGIN_CHECK=1
probe_mariadb() {
  local host=$1 port=$2 hex out
  PROBE_MSG=''
  port_open "$host" "$port" || return 1
  # A MySQL-protocol server greets first: 3-byte length, sequence 0, protocol version 10.
  hex=$(first_bytes "$host" "$port" '' 5)
  if [[ ${hex:8:2} == ff ]]; then
    PROBE_MSG="answers with an error instead of a greeting (blocked host or too many connections?)"
    return 2
  elif [[ ${hex:8:2} != 0a ]]; then
    PROBE_MSG="something listens there but does not speak the MySQL protocol"
    return 2
  fi
  if ((LOGIN_CHECK)) && command -v mariadb >/dev/null; then
    if ! out=$(MYSQL_PWD=$DB_PASS mariadb --no-defaults --protocol=TCP -h "$host" -P "$port" \
      -u "$DB_USER" --connect-timeout=3 -N -B -e 'SELECT VERSION(), @@max_connections' 2>&1); then
      PROBE_MSG="answers, but logging in as '$DB_USER' fails: $out"
      return 2
    fi
    PROBE_MSG="MariaDB $(cut -f1 <<<"$out"), max_connections=$(cut -f2 <<<"$out")"
  fi
  return 0
}

# resp ARG...: appends one command to REQ in the RESP protocol (lengths in bytes, whatever
# the locale).
REQ=''
resp() {
  local LC_ALL=C arg
  REQ+="*$#"$'\r\n'
  for arg in "$@"; do
    REQ+="\$${#arg}"$'\r\n'"$arg"$'\r\n'
  done
}

probe_redis() {
  local host=$1 port=$2 replies
  PROBE_MSG=''
  port_open "$host" "$port" || return 1
  REQ=''
  if [[ -n $REDIS_PASS && -n $REDIS_USER ]]; then
    resp AUTH "$REDIS_USER" "$REDIS_PASS"
  elif [[ -n $REDIS_PASS ]]; then
    resp AUTH "$REDIS_PASS"
  fi
  resp PING
  # One reply line per command (AUTH, PING); the port answered a moment ago, so connect is quick.
  replies=$(
    exec 3<>"/dev/tcp/$host/$port" || exit 0
    printf '%s' "$REQ" >&3
    while IFS= read -r -t 2 line <&3; do
      printf '%s\n' "${line%$'\r'}"
      [[ $line != +PONG* && $line != -* ]] || break
    done
  ) 2>/dev/null || true
  if [[ $(tail -n 1 <<<"$replies") == +PONG ]]; then
    return 0
  elif [[ -n $replies ]]; then
    PROBE_MSG="answers, but not with PONG: $(grep -m1 '^-' <<<"$replies" || head -n 1 <<<"$replies")"
  else
    PROBE_MSG="something listens there but does not answer PING"
  fi
  return 2
}

probe_rabbitmq() {
  local host=$1 port=$2 hex
  PROBE_MSG=''
  port_open "$host" "$port" || return 1
  # AMQP 0-9-1 header in; a method frame (type 1, channel 0) with connection.start (10,10) out.
  hex=$(first_bytes "$host" "$port" 'AMQP\x00\x00\x09\x01' 11)
  if [[ ${hex:0:6} == 010000 && ${hex:14:8} == 000a000a ]]; then
    return 0
  elif [[ ${hex:0:8} == 414d5150 ]]; then
    PROBE_MSG="answers AMQP, but not version 0-9-1"
  else
    PROBE_MSG="something listens there but does not speak AMQP"
  fi
  return 2
}

# wait_ready COMPONENT HOST PORT PID LOGFILE: polls the probe until it answers, the process
# (when PID is given) dies, or TIMEOUT passes.
wait_ready() {
  local comp=$1 host=$2 port=$3 pid=$4 logfile=$5 start=$SECONDS rc
  log "$comp" "waiting up to ${TIMEOUT}s for $host:$port"
  while :; do
    rc=0
    "probe_$comp" "$host" "$port" || rc=$?
    if ((rc == 0)); then
      log "$comp" "ready after $((SECONDS - start))s${PROBE_MSG:+ ($PROBE_MSG)}"
      return 0
    fi
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      show_tail "$logfile"
      fail "$comp" "the server exited before answering on $host:$port (log: $logfile)"
    fi
    if ((SECONDS - start >= TIMEOUT)); then
      show_tail "$logfile"
      fail "$comp" "no answer on $host:$port after ${TIMEOUT}s${PROBE_MSG:+ ($PROBE_MSG)} (log: $logfile)"
    fi
    sleep 0.5
  done
}

# ------------------------------------------------------------------------------- packages
APT_UPDATED=0
INSTALLED=0

# need_package COMPONENT PACKAGE BINARY...: installs PACKAGE when one of the binaries is missing.
need_package() {
  local comp=$1 pkg=$2 bin missing=()
  shift 2
  for bin in "$@"; do
    command -v "$bin" >/dev/null || missing+=("$bin")
  done
  ((${#missing[@]} == 0)) && return 0
  [[ ${INFRA_INSTALL:-1} != 0 ]] || fail "$comp" "${missing[*]} not found and INFRA_INSTALL=0: install $pkg"
  command -v apt-get >/dev/null || fail "$comp" "${missing[*]} not found and there is no apt-get: install $pkg by hand"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || fail "$comp" "${missing[*]} not found; installing $pkg needs root (or sudo)"
    sudo=(sudo)
  fi
  local aptlog="$INFRA_DIR/apt.log"
  if ((APT_UPDATED == 0)); then
    log "$comp" "apt-get update (log: $aptlog)"
    "${sudo[@]}" apt-get update >>"$aptlog" 2>&1 || {
      show_tail "$aptlog"
      fail "$comp" "apt-get update failed"
    }
    APT_UPDATED=1
  fi
  log "$comp" "${missing[*]} not found: apt-get install -y $pkg (log: $aptlog)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >>"$aptlog" 2>&1 || {
    show_tail "$aptlog"
    fail "$comp" "apt-get install $pkg failed"
  }
  for bin in "${missing[@]}"; do
    command -v "$bin" >/dev/null || fail "$comp" "$pkg is installed but $bin is still missing"
  done
  INSTALLED=1
}

# The Debian package and the binaries a private instance of each server needs.
ensure_package() {
  case $1 in
    mariadb) need_package mariadb mariadb-server mariadbd mariadb-install-db mariadb ;;
    redis) need_package redis redis-server redis-server ;;
    rabbitmq) need_package rabbitmq rabbitmq-server rabbitmq-server ;;
  esac
}

# ------------------------------------------------------------------------- private instances

# pid_of FILE NAME: the live pid in a pid file whose process is NAME (guards against reuse).
pid_of() {
  local file=$1 name=$2 pid
  [[ -f $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name" || return 1
  echo "$pid"
}

sql_str() {
  local s=${1//\\/\\\\}
  printf "'%s'" "${s//\'/\'\'}"
}

mariadb_dir() { echo "$INFRA_DIR/mariadb-$1"; }
mariadb_pidfile() { echo "$(mariadb_dir "$1")/mariadbd.pid"; }
redis_dir() { echo "$INFRA_DIR/redis-$1"; }
redis_pidfile() { echo "$(redis_dir "$1")/redis.pid"; }
rabbitmq_dir() { echo "$INFRA_DIR/rabbitmq-$1"; }
rabbitmq_pidfile() { echo "$(rabbitmq_dir "$1")/rabbitmq.pid"; }
# What each private instance's process is called (checked before signalling a pid).
declare -A PROCESS_NAME=([mariadb]=mariadbd [redis]=redis-server [rabbitmq]=beam)

start_mariadb() {
  local host=$1 port=$2 bind dir data sock pidfile logfile pid user_args=()
  bind=$(bind_addr "$host")
  dir=$(mariadb_dir "$port")
  data="$dir/data"
  pidfile=$(mariadb_pidfile "$port")
  logfile="$dir/mariadbd.log"
  sock="$dir/mariadbd.sock"
  # A unix socket path must fit in 108 bytes.
  ((${#sock} < 100)) || sock="/tmp/boxoffice-mariadb-$port.sock"
  # mariadbd refuses to run as root unless told to.
  ((EUID != 0)) || user_args=(--user=root)
  mkdir -p "$dir"

  # The marker is written only after a complete initialisation; a data dir without it is the
  # remains of an interrupted one (this folder is ours alone), so it starts over.
  if [[ ! -f $dir/initialised ]]; then
    [[ ! -e $data ]] || log mariadb "removing the half-initialised $data"
    rm -rf "$data"
    log mariadb "initialising $data (mariadb-install-db)"
    mariadb-install-db --no-defaults --datadir="$data" --auth-root-authentication-method=normal \
      --skip-test-db "${user_args[@]}" >"$dir/install-db.log" 2>&1 9>&- || {
      show_tail "$dir/install-db.log"
      fail mariadb "mariadb-install-db failed"
    }
    touch "$dir/initialised"
  fi

  if pid=$(pid_of "$pidfile" mariadbd); then
    log mariadb "private instance already running (pid $pid) but not answering yet"
  else
    log mariadb "starting a private instance on $bind:$port (data $data, log $logfile)"
    # setsid: its own session, so Ctrl-C on `make up` does not reach the database.
    setsid mariadbd --defaults-file="$REPO/deploy/local/mariadb.cnf" --datadir="$data" \
      --port="$port" --bind-address="$bind" --socket="$sock" --pid-file="$pidfile" \
      --log-error="$logfile" "${user_args[@]}" </dev/null >>"$dir/mariadbd.out" 2>&1 9>&- &
    pid=$!
  fi
  LOGIN_CHECK=0
  wait_ready mariadb "$host" "$port" "$pid" "$logfile"
  LOGIN_CHECK=1

  # TCP logins from 127.0.0.1/::1 as the DB_URL user (root without a password by default);
  # the cnf skips name resolution, so root@localhost alone would not match them.
  local sql='' h u p
  u=$(sql_str "$DB_USER")
  p=$(sql_str "$DB_PASS")
  for h in 127.0.0.1 ::1 localhost; do
    sql+="CREATE USER IF NOT EXISTS $u@'$h'; "
    [[ -z $DB_PASS ]] || sql+="ALTER USER $u@'$h' IDENTIFIED BY $p; "
    sql+="GRANT ALL PRIVILEGES ON *.* TO $u@'$h' WITH GRANT OPTION; "
  done
  mariadb --no-defaults --socket="$sock" -u root -e "$sql" || fail mariadb "could not grant TCP access to '$DB_USER'"
  probe_mariadb "$host" "$port" || fail mariadb "$PROBE_MSG"
  log mariadb "up at $host:$port as '$DB_USER' ($PROBE_MSG)"
}

start_redis() {
  local host=$1 port=$2 bind dir pidfile logfile args
  bind=$(bind_addr "$host")
  dir=$(redis_dir "$port")
  pidfile=$(redis_pidfile "$port")
  logfile="$dir/redis.log"
  mkdir -p "$dir"
  if pid_of "$pidfile" redis-server >/dev/null; then
    log redis "private instance already running but not answering yet"
  else
    log redis "starting a private instance on $bind:$port (log $logfile)"
    args=(--daemonize yes --port "$port" --bind "$bind" --save '' --appendonly no
      --dir "$dir" --pidfile "$pidfile" --logfile "$logfile")
    [[ -z $REDIS_PASS ]] || args+=(--requirepass "$REDIS_PASS")
    redis-server "${args[@]}" </dev/null 9>&- || {
      show_tail "$logfile"
      fail redis "redis-server did not start"
    }
  fi
  # Daemonized: the pid is only known once the pid file is written.
  wait_ready redis "$host" "$port" "" "$logfile"
}

start_rabbitmq() {
  local host=$1 port=$2 bind dir node dist bin conf
  bind=$(bind_addr "$host")
  dir=$(rabbitmq_dir "$port")
  node=${INFRA_RABBITMQ_NODENAME:-boxoffice-$port@localhost}
  dist=${INFRA_RABBITMQ_DIST_PORT:-$((port + 20000))}
  ((dist <= 65535)) || fail rabbitmq "distribution port $dist is out of range: set INFRA_RABBITMQ_DIST_PORT"
  # The Debian wrapper in sbin switches to the rabbitmq user; the real script runs as anyone.
  bin=/usr/lib/rabbitmq/bin/rabbitmq-server
  [[ -x $bin ]] || bin=$(command -v rabbitmq-server)
  mkdir -p "$dir/mnesia" "$dir/log"

  if pid_of "$(rabbitmq_pidfile "$port")" beam >/dev/null; then
    log rabbitmq "private instance already running but not answering yet"
  else
    conf="$dir/rabbitmq.conf"
    cp "$REPO/deploy/local/rabbitmq.conf" "$conf"
    if [[ $AMQP_USER != guest || $AMQP_PASS != guest ]]; then
      printf 'default_user = %s\ndefault_pass = %s\n' "$AMQP_USER" "$AMQP_PASS" >>"$conf"
    fi
    [[ -f $dir/enabled_plugins ]] || echo '[].' >"$dir/enabled_plugins"
    : >"$dir/rabbitmq-env.conf"
    log rabbitmq "starting a private instance on $bind:$port (node $node, distribution port $dist, logs $dir/log)"
    # Everything the node writes lives in $dir; HOME holds its Erlang cookie.
    env HOME="$dir" \
      RABBITMQ_NODENAME="$node" \
      RABBITMQ_NODE_IP_ADDRESS="$bind" \
      RABBITMQ_NODE_PORT="$port" \
      RABBITMQ_DIST_PORT="$dist" \
      RABBITMQ_MNESIA_BASE="$dir/mnesia" \
      RABBITMQ_LOG_BASE="$dir/log" \
      RABBITMQ_PID_FILE="$(rabbitmq_pidfile "$port")" \
      RABBITMQ_CONFIG_FILE="$conf" \
      RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
      RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
      RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
      ERL_EPMD_ADDRESS=127.0.0.1 \
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
      setsid "$bin" -detached </dev/null >"$dir/start.log" 2>&1 9>&- || {
      show_tail "$dir/start.log"
      fail rabbitmq "rabbitmq-server -detached failed"
    }
  fi
  wait_ready rabbitmq "$host" "$port" "" "$dir/log/$node.log"
}

# -------------------------------------------------------------------------------- commands

# target COMPONENT: sets HOST PORT of the server the mesh expects.
target() {
  case $1 in
    mariadb)
      parse_url mariadb "$DB_URL" 3306
      DB_USER=${U_USER:-root}
      DB_PASS=$U_PASS
      ;;
    redis)
      parse_url redis "$REDIS_URL" 6379
      REDIS_USER=$U_USER
      REDIS_PASS=$U_PASS
      ;;
    rabbitmq)
      parse_url rabbitmq "$AMQP_URL" 5672
      AMQP_USER=${U_USER:-guest}
      AMQP_PASS=${U_PASS:-guest}
      [[ -z $U_PATH || $U_PATH == / ]] || log rabbitmq "note: a private instance only has the default vhost '/', not '${U_PATH#/}'"
      ;;
  esac
  HOST=$U_HOST
  PORT=$U_PORT
}

# describe COMPONENT PORT: who runs the server answering there.
describe() {
  local pid
  if pid=$(pid_of "$("${1}_pidfile" "$2")" "${PROCESS_NAME[$1]}"); then
    echo "private instance, pid $pid, data $("${1}_dir" "$2")"
  else
    echo "not started by this script"
  fi
}

cmd_up() {
  local comp=$1 rc=0
  target "$comp"
  "probe_$comp" "$HOST" "$PORT" || rc=$?
  case $rc in
    0)
      log "$comp" "up at $HOST:$PORT ($(describe "$comp" "$PORT"))${PROBE_MSG:+: $PROBE_MSG}"
      if [[ $PROBE_MSG =~ max_connections=([0-9]+) ]] && ((BASH_REMATCH[1] < 500)); then
        log "$comp" "note: max_connections=${BASH_REMATCH[1]}; XA under load may need 500 or more (docs/platform.md)"
      fi
      return 0
      ;;
    2) fail "$comp" "$HOST:$PORT: $PROBE_MSG" ;;
  esac
  is_local "$HOST" || fail "$comp" "nothing answers at $HOST:$PORT, and it is not a local address: start it there"
  log "$comp" "nothing answers at $HOST:$PORT"
  INSTALLED=0
  ensure_package "$comp"
  # Where apt starts services (systemd), the fresh package may already serve the port.
  if ((INSTALLED)) && "probe_$comp" "$HOST" "$PORT"; then
    log "$comp" "up at $HOST:$PORT (started by the package)"
    return 0
  fi
  "start_$comp" "$HOST" "$PORT"
}

cmd_status() {
  local comp=$1 rc=0
  target "$comp"
  "probe_$comp" "$HOST" "$PORT" || rc=$?
  case $rc in
    0) log "$comp" "up at $HOST:$PORT ($(describe "$comp" "$PORT"))${PROBE_MSG:+: $PROBE_MSG}" ;;
    1) log "$comp" "DOWN: nothing answers at $HOST:$PORT" ;;
    2) log "$comp" "NOT USABLE at $HOST:$PORT: $PROBE_MSG" ;;
  esac
  return "$rc"
}

cmd_stop() {
  local comp=$1 pidfile pid waited=0
  target "$comp"
  pidfile=$("${comp}_pidfile" "$PORT")
  if ! pid=$(pid_of "$pidfile" "${PROCESS_NAME[$comp]}"); then
    log "$comp" "no private instance running for port $PORT (nothing to stop)"
    return 0
  fi
  log "$comp" "stopping the private instance on port $PORT (pid $pid)"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    ((waited++ < TIMEOUT * 2)) || fail "$comp" "pid $pid still running after ${TIMEOUT}s"
    sleep 0.5
  done
  log "$comp" "stopped (data kept in $("${comp}_dir" "$PORT"))"
}

# rabbitmqctl against the broker at AMQP_URL: our private node when we started one, else the
# machine's default node.
cmd_vhost() {
  local action=${1:-} name=${2:-} port dir out ctl=(rabbitmqctl -q)
  if [[ $action != add && $action != delete ]] || [[ ! $name =~ ^[A-Za-z0-9_.-]+$ ]]; then
    fail rabbitmq "usage: scripts/infra.sh vhost add|delete NAME"
  fi
  parse_url rabbitmq "$AMQP_URL" 5672
  port=$U_PORT
  dir=$(rabbitmq_dir "$port")
  if pid_of "$(rabbitmq_pidfile "$port")" beam >/dev/null; then
    ctl=(env HOME="$dir" rabbitmqctl -q -n "${INFRA_RABBITMQ_NODENAME:-boxoffice-$port@localhost}")
  fi
  if [[ $action == add ]]; then
    "${ctl[@]}" add_vhost "$name" >/dev/null
    "${ctl[@]}" set_permissions -p "$name" "${U_USER:-guest}" '.*' '.*' '.*' >/dev/null
  elif ! out=$("${ctl[@]}" delete_vhost "$name" 2>&1 >/dev/null); then
    # Idempotent: a vhost already gone (a second clean-up of the same run) counts as deleted.
    if "${ctl[@]}" list_vhosts name | grep -qxF "$name"; then
      printf '%s\n' "$out" >&2
      return 1
    fi
  fi
}

main() {
  local cmd=${1:-up} comps=() comp rc=0
  [[ $# -eq 0 ]] || shift
  case $cmd in
    vhost)
      cmd_vhost "$@"
      return
      ;;
    browser)
      mkdir -p "$INFRA_DIR"
      # The path the browser test launches; a chromium elsewhere on PATH would not be it.
      if [[ -x /usr/bin/chromium ]]; then
        log chromium "/usr/bin/chromium is installed"
      else
        need_package chromium chromium /usr/bin/chromium
        log chromium "installed /usr/bin/chromium"
      fi
      return
      ;;
    up | status | stop) ;;
    -h | --help | help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      return 0
      ;;
    *) fail infra "unknown command '$cmd' (up, status, stop)" ;;
  esac
  if (($# == 0)); then set -- mariadb redis rabbitmq; fi
  for comp in "$@"; do
    case $comp in
      mariadb | redis | rabbitmq) comps+=("$comp") ;;
      *) fail infra "unknown server '$comp' (mariadb, redis, rabbitmq)" ;;
    esac
  done

  mkdir -p "$INFRA_DIR"
  # One run at a time per INFRA_DIR (two `make up`s must not both start a server).
  exec 9>"$INFRA_DIR/.infra.lock"
  flock -w "$TIMEOUT" 9 || fail infra "another scripts/infra.sh holds $INFRA_DIR/.infra.lock"

  for comp in "${comps[@]}"; do
    "cmd_$cmd" "$comp" || rc=1
  done
  return "$rc"
}

# Sourcing the file (for a test of one function) defines everything and runs nothing.
[[ ${BASH_SOURCE[0]} != "$0" ]] || main "$@"
