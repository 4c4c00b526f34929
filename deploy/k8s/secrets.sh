#!/usr/bin/env bash
# The Secrets and the ConfigMap mesh-public-keys that deploy/k8s references but never contains:
# made from the files of one directory, so no value is ever committed (docs/kubernetes.md,
# "Secrets"). make kind-up runs both steps with a directory under .run/; make k8s-validate runs
# them on a throwaway one and checks the result against the manifests.
#
#   deploy/k8s/secrets.sh generate DIR    create every file missing from DIR (openssl; never
#                                         overwrites), e.g. after node dist/cmd/keys.js --out DIR
#   deploy/k8s/secrets.sh manifests DIR   print the Secrets and the ConfigMap as YAML:
#       deploy/k8s/secrets.sh manifests DIR | kubectl apply --server-side -f -
#
# DIR holds, one value per file:
#   <service>.key, <service>.pub   Ed25519 key pair (PEM) of each service below
#   operator.key, operator.pub     the operators' tools; operator.key goes into no Secret
#   tx.key                         32 random bytes, base64: signs transaction contexts
#   auth-jwt.secret                AUTH_JWT_SECRET (gateway)
#   queue-token.secret             QUEUE_TOKEN_SECRET (queue)
#   <db>-db.password               MariaDB user boxoffice of each service database
#   <db>-db-root.password          MariaDB root of each service database
#   rabbitmq.password, redis.password
#   redis-gateway.password         Redis ACL user gateway (subscribe-only; redis, gateway)
set -euo pipefail

NAMESPACE=boxoffice
SERVICES=(gateway queue concert reservation payment point coordinator ops dataplatform)
IDENTITIES=("${SERVICES[@]}" operator)
DATABASES=(concert reservation payment point coordinator dataplatform)
# Text values: at least 16 characters (lib/config.ts asks that of AUTH_JWT_SECRET), and
# URL-safe, since passwords are spliced into mysql://, amqp:// and redis:// URLs unescaped.
TEXT_FILES=(auth-jwt.secret queue-token.secret rabbitmq.password redis.password
  redis-gateway.password)
for db in "${DATABASES[@]}"; do TEXT_FILES+=("$db-db.password" "$db-db-root.password"); done

usage() {
  echo "usage: $0 generate DIR | manifests DIR   (docs/kubernetes.md, \"Secrets\")" >&2
  exit 2
}

# ---------------------------------------------------------------------------------- generate

generate() {
  local dir=$1 id
  command -v openssl >/dev/null || { echo "secrets.sh: openssl not found" >&2; exit 1; }
  umask 077
  mkdir -p "$dir"
  for id in "${IDENTITIES[@]}"; do
    # A new private key always gets its own public key (an older .pub would not match it).
    if [[ ! -e $dir/$id.key ]]; then
      openssl genpkey -algorithm ed25519 -out "$dir/$id.key"
      rm -f "$dir/$id.pub"
    fi
    [[ -e $dir/$id.pub ]] || openssl pkey -in "$dir/$id.key" -pubout -out "$dir/$id.pub"
  done
  # No trailing newline: the files are the values.
  [[ -e $dir/tx.key ]] || openssl rand -base64 32 | tr -d '\n' >"$dir/tx.key"
  local f
  for f in "${TEXT_FILES[@]}"; do
    [[ -e $dir/$f ]] || openssl rand -hex 24 | tr -d '\n' >"$dir/$f"
  done
}

# --------------------------------------------------------------------------------- manifests

b64() { base64 | tr -d '\n'; }

# A text value without its trailing newline(s), checked.
text() {
  local file=$1 value
  value=$(<"$file")
  if [[ ! $value =~ ^[A-Za-z0-9._~-]{16,}$ ]]; then
    echo "secrets.sh: $file must be one line of at least 16 letters, digits, - _ . ~" >&2
    return 1
  fi
  printf %s "$value"
}

pem() {
  local file=$1 kind=$2
  if [[ $(head -n 1 "$file") != "-----BEGIN $kind-----" ]]; then
    echo "secrets.sh: $file is not a PEM $kind" >&2
    return 1
  fi
}

header() { # kind name component
  cat <<EOF
---
apiVersion: v1
kind: $1
metadata:
  name: $2
  namespace: $NAMESPACE
  labels:
    app.kubernetes.io/name: $2
    app.kubernetes.io/instance: boxoffice
    app.kubernetes.io/component: $3
    app.kubernetes.io/part-of: boxoffice
    app.kubernetes.io/managed-by: secrets.sh
EOF
}

secret() { # name component key value-in-base64
  header Secret "$1" "$2"
  printf 'type: Opaque\ndata:\n  %s: %s\n' "$3" "$4"
}

manifests() {
  local dir=$1 missing=() f id db
  [[ -d $dir ]] || { echo "secrets.sh: no directory $dir" >&2; exit 1; }
  for id in "${SERVICES[@]}"; do [[ -f $dir/$id.key ]] || missing+=("$id.key"); done
  for id in "${IDENTITIES[@]}"; do [[ -f $dir/$id.pub ]] || missing+=("$id.pub"); done
  [[ -f $dir/tx.key ]] || missing+=(tx.key)
  for f in "${TEXT_FILES[@]}"; do [[ -f $dir/$f ]] || missing+=("$f"); done
  if ((${#missing[@]})); then
    echo "secrets.sh: $dir lacks ${missing[*]} (secrets.sh generate $dir creates them)" >&2
    exit 1
  fi
  for id in "${SERVICES[@]}"; do pem "$dir/$id.key" 'PRIVATE KEY'; done
  for id in "${IDENTITIES[@]}"; do pem "$dir/$id.pub" 'PUBLIC KEY'; done
  local tx
  tx=$(<"$dir/tx.key")
  if [[ ! $tx =~ ^[A-Za-z0-9+/]{43}=$ ]]; then
    echo "secrets.sh: $dir/tx.key must be 32 bytes in base64 (openssl rand -base64 32)" >&2
    exit 1
  fi
  # Values are checked before anything is printed, so a bad file never yields half a stream.
  for f in "${TEXT_FILES[@]}"; do text "$dir/$f" >/dev/null; done

  # Each service's private key, alone in its Secret: a pod mounts its own and no other.
  for id in "${SERVICES[@]}"; do
    secret "mesh-key-$id" mesh-keys "$id.key" "$(b64 <"$dir/$id.key")"
  done
  # Signs transaction contexts: mounted by the coordinator and the four participants only.
  secret mesh-tx-key mesh-keys tx.key "$(printf %s "$tx" | b64)"
  # Every identity's public key, the operator's too; not secret, mounted by every process.
  header ConfigMap mesh-public-keys mesh-keys
  echo 'data:'
  for id in "${IDENTITIES[@]}"; do
    echo "  $id.pub: |"
    sed 's/^/    /' "$dir/$id.pub"
  done
  secret gateway-secrets credentials AUTH_JWT_SECRET "$(text "$dir/auth-jwt.secret" | b64)"
  secret queue-secrets credentials QUEUE_TOKEN_SECRET "$(text "$dir/queue-token.secret" | b64)"
  for db in "${DATABASES[@]}"; do
    # The service's user, shared by the service and its database; root stays with the database.
    secret "$db-db-password" credentials password "$(text "$dir/$db-db.password" | b64)"
    secret "$db-db-root-password" credentials password "$(text "$dir/$db-db-root.password" | b64)"
  done
  secret rabbitmq-password credentials password "$(text "$dir/rabbitmq.password" | b64)"
  secret redis-password credentials password "$(text "$dir/redis.password" | b64)"
  # The gateway's own Redis user, which may only listen for ended tokens: not redis-password.
  secret redis-gateway-password credentials password "$(text "$dir/redis-gateway.password" | b64)"
}

(($# == 2)) || usage
case $1 in
  generate) generate "$2" ;;
  manifests) manifests "$2" ;;
  *) usage ;;
esac
