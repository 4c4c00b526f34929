#!/usr/bin/env node
// Offline check of deploy/k8s (make k8s-validate, part of make test). No cluster, no network:
// renders every overlay with `kubectl kustomize`, validates each object against the Kubernetes
// schemas of the npm package kubernetes-models (plus an unknown-field check built from the
// same package's type declarations), then checks the project's own rules: probes, limits and
// a non-root security context everywhere; only the project image and a short list of pinned
// third-party images; every Service selects a pod template and a port it has; every process
// gets what lib/config.ts needs to reach its peers, database, broker and Redis in the cluster
// (checked by running loadConfig on each container's resolved environment), Redis as a user
// whose ACL grants exactly what it needs; no secret value in any rendering (deploy/k8s/secrets.sh
// makes the Secrets, run here on a throwaway directory) and each pod holding only the secrets of
// its table; NetworkPolicies that deny by default and allow exactly the edges of their table,
// which itself matches each process's environment; the mode overlays differ only in TX_MODE;
// kind's host ports match the NodePorts.
//
//   node scripts/k8s-validate.mjs [--overlay NAME]...   check the base and every overlay
//   node scripts/k8s-validate.mjs --self-test           prove broken manifests fail each rule
//   node scripts/k8s-validate.mjs --edges [--overlay NAME]...   print what the policies allow
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const K8S_DIR = join(ROOT, 'deploy/k8s');
const OVERLAYS_DIR = join(K8S_DIR, 'overlays');
const KIND_CONFIG = join(ROOT, 'deploy/kind/cluster.yaml');
const CONFIG_TS = join(ROOT, 'lib/config.ts');
const ACTIVE_PASS_TS = join(ROOT, 'lib/trust/activePass.ts');
const SECRETS_SH = join(K8S_DIR, 'secrets.sh');
const PROTO_DIR = join(ROOT, 'proto/boxoffice');

const NAMESPACE = 'boxoffice';
/** The one image every boxoffice process runs (kind loads it; never pulled). */
const PROJECT_IMAGE = 'boxoffice:dev';
/** The only other images allowed, each pinned to a version. */
const THIRD_PARTY_IMAGES = new Map([
  ['mariadb:10.11', 'service databases (XA needs MariaDB >= 10.5)'],
  ['redis:7.2', 'the waiting room'],
  ['rabbitmq:3.13', 'the event broker'],
  ['jaegertracing/all-in-one:1.62.0', 'traces over OTLP'],
]);
const RECOMMENDED_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
];
const SELECTOR_LABELS = ['app.kubernetes.io/name', 'app.kubernetes.io/instance'];
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'StorageClass']);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '0.0.0.0']);
const METRICS_PORT_NAME = 'metrics';

/**
 * What each process (SERVICES=<name>) needs from the cluster: `grpc` it serves gRPC (native
 * grpc probes), `http` its HTTP port, `db` it owns a database (migrated by an init container),
 * `reads` it reads every service database (the ops service's auditor), `amqp` it publishes or
 * consumes events (or, ops, reads parked ones), `redis` the Redis user it logs in as (`default`:
 * the requirepass password; any other: REDIS_USERS), `dials` the gRPC services it calls,
 * `dataplatform` it uses DATAPLATFORM_URL, `participant` it holds XA branches.
 */
const PARTICIPANTS = ['concert', 'reservation', 'payment', 'point'];
const PROCESSES = {
  queue: { grpc: true, redis: 'default', amqp: true },
  concert: { grpc: true, db: true, amqp: true, participant: true, dials: ['coordinator'] },
  reservation: { grpc: true, db: true, amqp: true, participant: true, dials: ['coordinator'] },
  payment: { grpc: true, db: true, amqp: true, participant: true, dials: ['coordinator'] },
  point: { grpc: true, db: true, amqp: true, participant: true, dials: ['coordinator'] },
  coordinator: { grpc: true, db: true, dials: PARTICIPANTS },
  ops: { grpc: true, reads: true, amqp: true, dials: ['coordinator'] },
  dataplatform: { db: true, amqp: true, dataplatform: true },
  'dataplatform-mock': { http: 'http', dataplatform: true },
  // The services behind its REST routes (google.api.http in proto/, read at start), and the
  // queue, which it asks about tokens: dialsOf(). Redis: the feed of ended tokens.
  gateway: { http: 'http', dials: 'routes', redis: 'gateway' },
};
const DB_OWNERS = Object.keys(PROCESSES).filter((p) => PROCESSES[p].db);
/**
 * Every Redis user but `default`, and all it may do: its `--user` line in the redis container's
 * args must grant exactly these commands and channels, no key (aclProblems). The gateway only
 * learns of ended waiting-room tokens (gateway/endedTokens.ts): its connection sends AUTH (always
 * allowed), CLIENT SETNAME and INFO (ioredis's ready check), then SUBSCRIBE to one channel, named
 * after its REDIS_KEY_PREFIX; PING is harmless. It does not need CLIENT SETINFO, which ioredis
 * also sends and whose refusal it ignores.
 */
const REDIS_USERS = {
  gateway: {
    commands: ['subscribe', 'ping', 'info', 'client|setname'],
    channels: (keyPrefix, ctx) => [keyPrefix + ctx.endedTokensChannel],
  },
};
const DB_READERS = Object.keys(PROCESSES).filter((p) => PROCESSES[p].reads);
// ------------------------------------------------------------- service identity and secrets

/** Where every process finds its keys (MESH_KEYS_DIR): one read-only projected volume. */
const MESH_DIR = '/etc/boxoffice/mesh';
/** The identities with a private key of their own: one Secret mesh-key-<name> each. */
const IDENTITIES = [
  'gateway',
  'queue',
  'concert',
  'reservation',
  'payment',
  'point',
  'coordinator',
  'ops',
  'dataplatform',
];
/** Public keys in the ConfigMap mesh-public-keys: every identity, and the operators' tools. */
const PUBLIC_KEYS = [...IDENTITIES, 'operator'];
/** The only pods that hold tx.key (it signs transaction contexts). */
const TX_HOLDERS = ['coordinator', ...PARTICIPANTS];
const AMQP_USERS = Object.keys(PROCESSES).filter((p) => PROCESSES[p].amqp);

/**
 * Least privilege: every Secret key each pod may reference (env, envFrom, volumes, init
 * containers included), as `secret/key`, and nothing more. deploy/k8s/secrets.sh makes them;
 * docs/kubernetes.md has the same table.
 */
function secretAccessTable() {
  const t = new Map();
  const add = (pod, ...refs) => t.set(pod, new Set([...(t.get(pod) ?? []), ...refs]));
  for (const p of Object.keys(PROCESSES)) add(p);
  for (const p of IDENTITIES) add(p, `mesh-key-${p}/${p}.key`);
  for (const p of TX_HOLDERS) add(p, 'mesh-tx-key/tx.key');
  add('gateway', 'gateway-secrets/AUTH_JWT_SECRET', 'redis-gateway-password/password');
  add('queue', 'queue-secrets/QUEUE_TOKEN_SECRET', 'redis-password/password');
  for (const p of DB_OWNERS) {
    add(p, `${p}-db-password/password`);
    add(`${p}-db`, `${p}-db-password/password`, `${p}-db-root-password/password`);
    // No read-only user exists: a reader logs in as the database's own user.
    for (const r of DB_READERS) add(r, `${p}-db-password/password`);
  }
  for (const p of AMQP_USERS) add(p, 'rabbitmq-password/password');
  add('redis', 'redis-password/password', 'redis-gateway-password/password');
  add('rabbitmq', 'rabbitmq-password/password');
  add('jaeger');
  return t;
}
const SECRET_ACCESS = secretAccessTable();

// ---------------------------------------------------------------------- network policies

/**
 * Every connection allowed inside the namespace, [from, to, port name on the `to` pod]; the
 * NetworkPolicies must allow exactly these (both sides: egress of `from`, ingress of `to`).
 * The process rows are also checked against each process's environment (its database URL,
 * broker, Redis, DATAPLATFORM_URL, OTLP endpoint, gRPC targets) by checkEdgeTable.
 */
const EDGES = [
  // The gateway: the services its REST routes reach (payment has none), the queue for tokens.
  ...['queue', 'concert', 'reservation', 'point', 'coordinator', 'ops'].map((s) => [
    'gateway',
    s,
    'grpc',
  ]),
  // The ops service records operators' actions in the coordinator's audit trail.
  ['ops', 'coordinator', 'grpc'],
  // Transaction branches and phase 2; back: DecideOutcome, GetEnded (and reservation's Expire).
  ...PARTICIPANTS.flatMap((p) => [
    ['coordinator', p, 'grpc'],
    [p, 'coordinator', 'grpc'],
  ]),
  // Each process its own database, and no other; the auditor (ops) reads every one.
  ...DB_OWNERS.map((p) => [p, `${p}-db`, 'mysql']),
  ...DB_READERS.flatMap((r) => DB_OWNERS.map((p) => [r, `${p}-db`, 'mysql'])),
  ['queue', 'redis', 'redis'],
  // The gateway's feed of ended waiting-room tokens (pub/sub), as a subscribe-only user.
  ['gateway', 'redis', 'redis'],
  // Outbox relays (participants) and consumers (queue, concert, dataplatform).
  ...AMQP_USERS.map((p) => [p, 'rabbitmq', 'amqp']),
  ['dataplatform', 'dataplatform-mock', 'http'],
  // Traces, OTLP/HTTP (OTEL_TRACES_EXPORTER=otlp in boxoffice-config).
  ...Object.keys(PROCESSES).map((p) => [p, 'jaeger', 'otlp-http']),
];
/** Peers outside the namespace, as describePeer() names them. */
const DNS_PEER = 'ns{kubernetes.io/metadata.name=kube-system} pods{k8s-app=kube-dns}';
const SCRAPER_PEER = 'ns{kubernetes.io/metadata.name=monitoring}';
/** Reachable from anywhere in every rendering: [pod, port name]. NodePorts add theirs. */
const PUBLIC = [['gateway', 'http']];
/** Env vars named like this hold secrets: they must come from a Secret. */
const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN_SECRET|PRIVATE_KEY/;
/** Characters a password may hold and still be spliced into a URL unescaped. */
const URL_SAFE = /^[A-Za-z0-9._~-]+$/;

const require = createRequire(import.meta.url);

// ------------------------------------------------------------------------ dependencies

class SetupError extends Error {}

export async function loadDeps() {
  let YAML;
  try {
    YAML = await import('yaml');
  } catch (err) {
    throw new SetupError(
      `cannot load the YAML parser "yaml" (${err.message}); add it as a devDependency ` +
        '(npm install --save-dev yaml) and run npm ci',
    );
  }
  let ts;
  try {
    ts = require('typescript');
  } catch (err) {
    throw new SetupError(`cannot load typescript (${err.message}); run npm ci`);
  }
  let kmDir;
  try {
    kmDir = dirname(findInNodeModules(ROOT, 'kubernetes-models/package.json'));
  } catch (err) {
    throw new SetupError(`cannot find kubernetes-models (${err.message}); run npm ci`);
  }
  let config;
  let activePass;
  try {
    const { tsImport } = await import('tsx/esm/api');
    config = await tsImport(pathToFileURL(CONFIG_TS).href, import.meta.url);
    activePass = await tsImport(pathToFileURL(ACTIVE_PASS_TS).href, import.meta.url);
  } catch (err) {
    throw new SetupError(
      `cannot load lib/config.ts or lib/trust/activePass.ts through tsx: ${err.message}`,
    );
  }
  return { YAML: YAML.default ?? YAML, ts, kmDir, config, activePass };
}

function findInNodeModules(from, rel) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', rel);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`no node_modules/${rel} above ${from}`);
  }
}

// --------------------------------------------------------------------------- rendering

function kubectlAvailable() {
  const run = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (run.error?.code === 'ENOENT') {
    throw new SetupError(
      'kubectl is not installed: it renders the kustomizations offline (kubectl kustomize). ' +
        'Install the kubectl client (no cluster needed); see docs/kubernetes.md',
    );
  }
  if (run.status !== 0) throw new SetupError(`kubectl version --client failed: ${run.stderr}`);
}

/** `kubectl kustomize <dir>`: the rendered YAML stream. */
function render(dir) {
  const run = spawnSync('kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) {
    throw new Error(`kubectl kustomize ${relative(ROOT, dir)} failed:\n${run.stderr}`);
  }
  return run.stdout;
}

function parseStream(YAML, text, what) {
  const objects = [];
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${what}: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) objects.push(obj);
  }
  return objects;
}

/** Every directory under deploy/k8s/overlays with a kustomization, plus the base. */
function targets(only) {
  const found = [{ name: 'base', dir: join(K8S_DIR, 'base') }];
  for (const e of readdirSync(OVERLAYS_DIR, { withFileTypes: true })) {
    if (e.isDirectory() && existsSync(join(OVERLAYS_DIR, e.name, 'kustomization.yaml'))) {
      found.push({ name: e.name, dir: join(OVERLAYS_DIR, e.name) });
    }
  }
  found.sort((a, b) =>
    a.name === 'base' ? -1 : b.name === 'base' ? 1 : a.name.localeCompare(b.name),
  );
  if (!only.length) return found;
  const missing = only.filter((n) => !found.some((t) => t.name === n));
  if (missing.length) throw new SetupError(`no such overlay: ${missing.join(', ')}`);
  return found.filter((t) => only.includes(t.name));
}

// -------------------------------------------------------------- schema and unknown fields

/** Validates one object with the kubernetes-models class of its apiVersion/kind. */
async function schemaCheck(obj) {
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return ['apiVersion and kind must be strings'];
  }
  let mod;
  try {
    mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
  } catch {
    return [`${apiVersion} ${kind} is not a built-in Kubernetes kind known to kubernetes-models`];
  }
  const Model = mod[kind];
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    return [String(err.message ?? err).trim()];
  }
}

/**
 * The fields each Kubernetes type allows, read from kubernetes-models' .d.ts files with the
 * TypeScript parser (its runtime validators ignore unknown fields; the API server in strict
 * mode does not, so a typo like `readinessprobe` would pass offline and fail at apply).
 */
class FieldShapes {
  constructor(ts, kmDir) {
    this.ts = ts;
    this.kmDir = kmDir;
    this.files = new Map();
    this.shapes = new Map();
  }

  file(path) {
    let f = this.files.get(path);
    if (f) return f;
    const { ts } = this;
    const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    f = { path, imports: new Map(), decls: new Map(), aliases: new Map() };
    for (const st of sf.statements) {
      if (ts.isImportDeclaration(st) && st.importClause?.namedBindings) {
        const spec = st.moduleSpecifier.text;
        const nb = st.importClause.namedBindings;
        if (ts.isNamedImports(nb)) {
          for (const el of nb.elements) {
            f.imports.set(el.name.text, { spec, name: (el.propertyName ?? el.name).text });
          }
        }
      } else if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) {
        f.decls.set(st.name.text, st);
      } else if (
        ts.isExportDeclaration(st) &&
        st.exportClause &&
        ts.isNamedExports(st.exportClause)
      ) {
        for (const el of st.exportClause.elements) {
          f.aliases.set(el.name.text, (el.propertyName ?? el.name).text);
        }
      }
    }
    this.files.set(path, f);
    return f;
  }

  resolveSpec(fromFile, spec) {
    if (spec.startsWith('.')) return resolve(dirname(fromFile), `${spec}.d.ts`);
    try {
      return findInNodeModules(dirname(fromFile), `${spec}.d.ts`);
    } catch {
      return undefined;
    }
  }

  /** The declaration a type name refers to in a file: [file, declaration] or undefined. */
  lookup(f, name) {
    const local = f.aliases.get(name) ?? name;
    if (f.decls.has(local)) return [f, f.decls.get(local)];
    const imp = f.imports.get(name);
    if (!imp) return undefined;
    const target = this.resolveSpec(f.path, imp.spec);
    if (!target || !existsSync(target)) return undefined;
    const tf = this.file(target);
    const tlocal = tf.aliases.get(imp.name) ?? imp.name;
    return tf.decls.has(tlocal) ? [tf, tf.decls.get(tlocal)] : undefined;
  }

  /** The shape of a top-level object, or undefined when the kind has no declaration. */
  top(apiVersion, kind) {
    const path = join(this.kmDir, apiVersion, `${kind}.d.ts`);
    if (!existsSync(path)) return undefined;
    const f = this.file(path);
    const decl = f.decls.get(`I${kind}`);
    return decl ? this.ofDecl(f, decl) : undefined;
  }

  ofDecl(f, decl) {
    const key = decl;
    if (this.shapes.has(key)) return this.shapes.get(key);
    const { ts } = this;
    let shape = { kind: 'leaf' };
    if (ts.isInterfaceDeclaration(decl)) {
      shape = { kind: 'object', props: new Map() };
      this.shapes.set(key, shape); // before members: types may be recursive
      this.addMembers(f, decl.members, shape.props);
      if (decl.heritageClauses?.length) {
        for (const name of ['apiVersion', 'kind']) {
          if (!shape.props.has(name)) shape.props.set(name, () => ({ kind: 'leaf' }));
        }
      }
      return shape;
    }
    this.shapes.set(key, shape);
    const resolved = this.ofType(f, decl.type);
    this.shapes.set(key, resolved);
    return resolved;
  }

  addMembers(f, members, props) {
    const { ts } = this;
    for (const m of members) {
      if (!ts.isPropertySignature(m) || !m.type) continue;
      const name = ts.isStringLiteral(m.name) || ts.isIdentifier(m.name) ? m.name.text : undefined;
      if (name === undefined) continue;
      let memo;
      props.set(name, () => (memo ??= this.ofType(f, m.type)));
    }
  }

  ofType(f, node) {
    const { ts } = this;
    if (ts.isParenthesizedTypeNode(node)) return this.ofType(f, node.type);
    if (ts.isArrayTypeNode(node))
      return { kind: 'array', item: () => this.ofType(f, node.elementType) };
    if (ts.isTypeReferenceNode(node)) {
      const name = node.typeName.getText();
      if (name === 'Array' && node.typeArguments?.length === 1) {
        const arg = node.typeArguments[0];
        return { kind: 'array', item: () => this.ofType(f, arg) };
      }
      const found = this.lookup(f, name);
      return found ? this.ofDecl(found[0], found[1]) : { kind: 'leaf' };
    }
    if (ts.isTypeLiteralNode(node)) {
      const index = node.members.find((m) => ts.isIndexSignatureDeclaration(m));
      if (index) return { kind: 'map', value: () => this.ofType(f, index.type) };
      const shape = { kind: 'object', props: new Map() };
      this.addMembers(f, node.members, shape.props);
      return shape;
    }
    if (ts.isUnionTypeNode(node)) {
      for (const t of node.types) {
        const s = this.ofType(f, t);
        if (s.kind !== 'leaf') return s;
      }
    }
    return { kind: 'leaf' };
  }

  /** Paths of fields the type does not declare. */
  unknownFields(obj) {
    const shape = this.top(obj.apiVersion, obj.kind);
    const out = [];
    if (shape) this.walk(obj, shape, '', out);
    return out;
  }

  walk(data, shape, path, out) {
    if (data === null || data === undefined) return;
    if (shape.kind === 'object' && typeof data === 'object' && !Array.isArray(data)) {
      for (const [k, v] of Object.entries(data)) {
        const sub = shape.props.get(k);
        const p = path ? `${path}.${k}` : k;
        if (!sub) out.push(p);
        else this.walk(v, sub(), p, out);
      }
    } else if (shape.kind === 'array' && Array.isArray(data)) {
      data.forEach((v, i) => this.walk(v, shape.item(), `${path}[${i}]`, out));
    } else if (shape.kind === 'map' && typeof data === 'object' && !Array.isArray(data)) {
      for (const [k, v] of Object.entries(data)) this.walk(v, shape.value(), `${path}.${k}`, out);
    }
  }
}

// ------------------------------------------------------------------------------ helpers

const idOf = (o) => `${o.kind}/${o.metadata?.name ?? '?'}`;
const labelsOf = (o) => o.metadata?.labels ?? {};

function podSpecOf(o) {
  if (o.kind === 'CronJob') return o.spec?.jobTemplate?.spec?.template?.spec;
  return WORKLOAD_KINDS.has(o.kind) ? o.spec?.template?.spec : undefined;
}

function podLabelsOf(o) {
  if (o.kind === 'CronJob') return o.spec?.jobTemplate?.spec?.template?.metadata?.labels ?? {};
  return o.spec?.template?.metadata?.labels ?? {};
}

const containersOf = (spec) => spec?.containers ?? [];
const initContainersOf = (spec) => spec?.initContainers ?? [];

function envValue(container, name) {
  return (container.env ?? []).find((e) => e.name === name);
}

/** The process a container runs: its literal SERVICES value, when it runs the project image. */
function processOf(container) {
  if (!isProjectImage(container.image)) return undefined;
  return envValue(container, 'SERVICES')?.value;
}

function isProjectImage(image) {
  return typeof image === 'string' && image.split(/[:@]/)[0].split('/').pop() === 'boxoffice';
}

function decodeSecret(secret) {
  const out = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) {
    out[k] = Buffer.from(String(v), 'base64').toString('utf8');
  }
  return { ...out, ...(secret.stringData ?? {}) };
}

/** The cluster objects of one rendering, indexed. */
class Cluster {
  constructor(objects) {
    this.objects = objects;
    this.byKind = new Map();
    for (const o of objects) {
      if (!this.byKind.has(o.kind)) this.byKind.set(o.kind, new Map());
      this.byKind.get(o.kind).set(o.metadata?.name, o);
    }
  }

  get(kind, name) {
    return this.byKind.get(kind)?.get(name);
  }

  all(kind) {
    return [...(this.byKind.get(kind)?.values() ?? [])];
  }

  workloads() {
    return this.objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  }

  /** The Service a host name means (`svc`, `svc.ns`, `svc.ns.svc[.cluster.local]`). */
  serviceForHost(host) {
    const parts = String(host).split('.');
    if (parts.length > 1 && parts[1] !== NAMESPACE) return undefined;
    if (parts.length > 2 && parts[2] !== 'svc') return undefined;
    return this.get('Service', parts[0]);
  }

  /** Workloads whose pod template carries every label of the selector. */
  selected(selector) {
    const entries = Object.entries(selector ?? {});
    if (!entries.length) return [];
    return this.workloads().filter((w) => {
      const labels = podLabelsOf(w);
      return entries.every(([k, v]) => labels[k] === v);
    });
  }

  /**
   * A container's environment as the kubelet builds it: envFrom sources, then env in order,
   * with $(VAR) expanded from what is defined before it. Problems name what cannot resolve.
   */
  resolveEnv(container) {
    const vars = new Map();
    const problems = [];
    for (const src of container.envFrom ?? []) {
      const prefix = src.prefix ?? '';
      if (src.configMapRef) {
        const cm = this.get('ConfigMap', src.configMapRef.name);
        if (!cm) {
          if (!src.configMapRef.optional)
            problems.push(`envFrom ConfigMap ${src.configMapRef.name} does not exist`);
          continue;
        }
        for (const [k, v] of Object.entries(cm.data ?? {})) vars.set(prefix + k, String(v));
      } else if (src.secretRef) {
        const s = this.get('Secret', src.secretRef.name);
        if (!s) {
          if (!src.secretRef.optional)
            problems.push(`envFrom Secret ${src.secretRef.name} does not exist`);
          continue;
        }
        for (const [k, v] of Object.entries(decodeSecret(s))) vars.set(prefix + k, v);
      }
    }
    for (const e of container.env ?? []) {
      if (e.valueFrom) {
        const ref = e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef;
        if (ref) {
          const isSecret = Boolean(e.valueFrom.secretKeyRef);
          const obj = this.get(isSecret ? 'Secret' : 'ConfigMap', ref.name);
          const data = obj ? (isSecret ? decodeSecret(obj) : (obj.data ?? {})) : undefined;
          if (!data || !(ref.key in data)) {
            if (!ref.optional) {
              problems.push(
                `${e.name}: ${isSecret ? 'Secret' : 'ConfigMap'} ${ref.name} ` +
                  (data ? `has no key ${ref.key}` : 'does not exist'),
              );
            }
            continue;
          }
          vars.set(e.name, String(data[ref.key]));
        } else {
          vars.set(e.name, `<${Object.keys(e.valueFrom)[0]}>`);
        }
        continue;
      }
      const expanded = expandVars(e.value ?? '', vars, (name) =>
        problems.push(`${e.name}: $(${name}) is not defined before it`),
      );
      vars.set(e.name, expanded);
    }
    return { vars, problems };
  }

  /**
   * A container's command and args as the kubelet passes them, $(VAR) expanded from its
   * environment (an undefined one stays as written, so a misspelt name would become a value).
   */
  resolveArgs(container) {
    const { vars } = this.resolveEnv(container);
    const problems = [];
    const expand = (field) =>
      (container[field] ?? []).map((a) =>
        expandVars(a, vars, (name) =>
          problems.push(`${field}: $(${name}) is not defined in its environment`),
        ),
      );
    return { command: expand('command'), args: expand('args'), problems };
  }
}

/** `$(VAR)` expanded as the kubelet does (`$$` escapes a `$`); `missing` hears undefined names. */
function expandVars(raw, vars, missing) {
  return String(raw).replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => {
    if (m === '$$') return '$';
    if (vars.has(name)) return vars.get(name);
    missing(name);
    return m;
  });
}

/** Container port number for a name or number on a pod spec (undefined if none). */
function containerPort(spec, portRef) {
  for (const c of [...containersOf(spec)]) {
    for (const p of c.ports ?? []) {
      if (typeof portRef === 'number' ? p.containerPort === portRef : p.name === portRef) {
        return p.containerPort;
      }
    }
  }
  return undefined;
}

function parseUrl(raw) {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

// -------------------------------------------------------------------------------- rules

/**
 * Checks one rendering. Returns { violations: [{ rule, where, message }] }.
 * `ctx` carries what does not come from the rendering: the config module, field shapes, the
 * gateway's routes. `external`: the objects deploy/k8s/secrets.sh makes (the Secrets and the
 * ConfigMap mesh-public-keys), which the cluster holds beside the rendering.
 */
async function checkRendering(objects, ctx, external = ctx.external) {
  const violations = [];
  const bad = (rule, where, message) => violations.push({ rule, where, message });
  const cluster = new Cluster([...objects, ...external]);

  // --- schema, unknown fields, names, namespace, labels (of what secrets.sh makes too)
  const seen = new Set();
  for (const o of [...objects, ...external]) {
    const id = idOf(o);
    for (const msg of await schemaCheck(o)) bad('schema', id, msg);
    for (const p of ctx.shapes.unknownFields(o)) bad('unknown-field', id, `unknown field ${p}`);
    const key = `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
    if (seen.has(key)) bad('unique', id, 'defined twice');
    seen.add(key);
    if (CLUSTER_SCOPED.has(o.kind)) {
      if (o.kind === 'Namespace' && o.metadata?.name !== NAMESPACE) {
        bad('namespace', id, `only the ${NAMESPACE} namespace belongs here`);
      }
    } else if (o.metadata?.namespace !== NAMESPACE) {
      bad(
        'namespace',
        id,
        `must be in namespace ${NAMESPACE}, is in ${o.metadata?.namespace ?? '(none)'}`,
      );
    }
    const missing = RECOMMENDED_LABELS.filter((l) => !labelsOf(o)[l]);
    if (missing.length) bad('labels', id, `missing recommended labels: ${missing.join(', ')}`);
    if (
      labelsOf(o)['app.kubernetes.io/part-of'] &&
      labelsOf(o)['app.kubernetes.io/part-of'] !== 'boxoffice'
    ) {
      bad('labels', id, 'app.kubernetes.io/part-of must be boxoffice');
    }
  }
  if (!cluster.get('Namespace', NAMESPACE)) bad('namespace', `Namespace/${NAMESPACE}`, 'missing');

  // --- workloads: probes, resources, security, images, labels of pod templates
  for (const w of cluster.workloads()) {
    const id = idOf(w);
    const spec = podSpecOf(w);
    const podLabels = podLabelsOf(w);
    const missing = RECOMMENDED_LABELS.filter((l) => !podLabels[l]);
    if (missing.length)
      bad('labels', id, `pod template lacks recommended labels: ${missing.join(', ')}`);
    const sel = w.spec?.selector?.matchLabels ?? {};
    for (const l of SELECTOR_LABELS) {
      if (!sel[l]) bad('labels', id, `selector must match on ${l}`);
    }
    if (spec?.automountServiceAccountToken !== false) {
      bad(
        'security',
        id,
        'automountServiceAccountToken must be false (nothing here calls the API server)',
      );
    }
    if (spec?.enableServiceLinks !== false) {
      bad(
        'env',
        id,
        'enableServiceLinks must be false (service links inject e.g. GATEWAY_PORT=tcp://…, which lib/config.ts rejects)',
      );
    }
    if (spec?.hostNetwork || spec?.hostPID || spec?.hostIPC)
      bad('security', id, 'host namespaces are not allowed');
    const podSc = spec?.securityContext ?? {};
    const all = [
      ...initContainersOf(spec).map((c) => ({ c, init: true })),
      ...containersOf(spec).map((c) => ({ c, init: false })),
    ];
    for (const { c, init } of all) {
      const cid = `${id} ${init ? 'initContainer' : 'container'} ${c.name}`;
      if (!init) {
        if (!c.readinessProbe) bad('probes', cid, 'no readinessProbe');
        if (!c.livenessProbe) bad('probes', cid, 'no livenessProbe');
      }
      for (const kind of ['requests', 'limits']) {
        for (const r of ['cpu', 'memory']) {
          if (c.resources?.[kind]?.[r] === undefined)
            bad('resources', cid, `no resources.${kind}.${r}`);
        }
      }
      const sc = c.securityContext ?? {};
      const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
      const runAsUser = sc.runAsUser ?? podSc.runAsUser;
      if (runAsNonRoot !== true)
        bad('security', cid, 'runAsNonRoot must be true (pod or container)');
      if (runAsUser === undefined || runAsUser === 0) {
        bad(
          'security',
          cid,
          'runAsUser must be set to a non-zero uid (images name users, which the kubelet cannot verify)',
        );
      }
      if (sc.allowPrivilegeEscalation !== false)
        bad('security', cid, 'allowPrivilegeEscalation must be false');
      if (sc.privileged) bad('security', cid, 'privileged is not allowed');
      if (!(sc.capabilities?.drop ?? []).includes('ALL'))
        bad('security', cid, 'capabilities.drop must include ALL');
      if ((sc.capabilities?.add ?? []).length) bad('security', cid, 'no capabilities may be added');
      const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
        bad('security', cid, 'seccompProfile must be RuntimeDefault (pod or container)');
      }
      // Images: the project image, or a pinned third-party one.
      if (isProjectImage(c.image)) {
        if (c.image !== PROJECT_IMAGE)
          bad('image', cid, `project image must be ${PROJECT_IMAGE}, is ${c.image}`);
        if (c.imagePullPolicy !== 'IfNotPresent') {
          bad(
            'image',
            cid,
            'the project image is loaded into the cluster, never pulled: imagePullPolicy IfNotPresent',
          );
        }
        if (sc.readOnlyRootFilesystem !== true)
          bad('security', cid, 'project containers run with readOnlyRootFilesystem');
      } else if (!THIRD_PARTY_IMAGES.has(c.image)) {
        bad(
          'image',
          cid,
          `image ${c.image} is neither ${PROJECT_IMAGE} nor one of the pinned ${[...THIRD_PARTY_IMAGES.keys()].join(', ')}`,
        );
      }
    }
  }

  // --- Services select pod templates, with the ports they forward to
  for (const svc of cluster.all('Service')) {
    const id = idOf(svc);
    const sel = svc.spec?.selector;
    if (!sel || !Object.keys(sel).length) {
      bad('service', id, 'has no selector');
      continue;
    }
    const targets = cluster.selected(sel);
    if (!targets.length) {
      bad('service', id, `selector ${JSON.stringify(sel)} matches no pod template`);
      continue;
    }
    for (const p of svc.spec?.ports ?? []) {
      const ref = p.targetPort ?? p.port;
      for (const t of targets) {
        if (containerPort(podSpecOf(t), ref) === undefined) {
          bad('service', id, `port ${p.name ?? p.port}: ${idOf(t)} has no container port ${ref}`);
        }
      }
    }
  }
  for (const sts of cluster.all('StatefulSet')) {
    const svc = cluster.get('Service', sts.spec?.serviceName);
    if (!svc)
      bad('service', idOf(sts), `serviceName ${sts.spec?.serviceName} is not a Service here`);
    else if (svc.spec?.clusterIP !== 'None')
      bad('service', idOf(sts), `Service ${svc.metadata.name} must be headless`);
  }

  // --- ConfigMaps and Secrets: secrets only in Secrets, and no Secret in any rendering
  const devSecrets = ctx.devSecrets;
  for (const cm of cluster.all('ConfigMap')) {
    for (const [k, v] of Object.entries(cm.data ?? {})) {
      if (SECRET_NAME.test(k)) bad('secrets', idOf(cm), `${k} is a secret: it belongs in a Secret`);
      const u = parseUrl(v);
      if (u?.password && !u.password.startsWith('$('))
        bad('secrets', idOf(cm), `${k} carries a password in its URL`);
    }
  }
  for (const o of objects) {
    if (o.kind === 'Secret') {
      bad(
        'secrets',
        idOf(o),
        'a rendering carries no Secret (no value is committed): deploy/k8s/secrets.sh makes them',
      );
    } else if (external.some((x) => x.kind === o.kind && x.metadata?.name === o.metadata?.name)) {
      bad('secrets', idOf(o), 'deploy/k8s/secrets.sh makes this object; no rendering may');
    }
  }
  for (const o of [...objects, ...external]) {
    const text = JSON.stringify(o.kind === 'Secret' ? { ...o, data: decodeSecret(o) } : o);
    if (/change-me/i.test(text))
      bad(
        'secrets',
        idOf(o),
        'holds a "change-me" placeholder: no value is committed, none is fake',
      );
  }
  for (const s of cluster.all('Secret')) {
    for (const [k, v] of Object.entries(decodeSecret(s))) {
      if (devSecrets.has(v))
        bad(
          'secrets',
          idOf(s),
          `${k} holds a development default of lib/config.ts (refused when NODE_ENV=production)`,
        );
      if (k === 'password' && !URL_SAFE.test(v))
        bad(
          'secrets',
          idOf(s),
          `${k} must be URL-safe (letters, digits, - _ . ~): passwords are spliced into URLs`,
        );
    }
  }

  // --- every container's environment
  const knownEnv = ctx.knownEnv;
  for (const w of cluster.workloads()) {
    const spec = podSpecOf(w);
    for (const c of [...initContainersOf(spec), ...containersOf(spec)]) {
      const cid = `${idOf(w)} ${c.name}`;
      for (const p of cluster.resolveEnv(c).problems) bad('env', cid, p);
      for (const p of cluster.resolveArgs(c).problems) bad('env', cid, p);
      for (const e of c.env ?? []) {
        if (
          SECRET_NAME.test(e.name) &&
          !e.valueFrom?.secretKeyRef &&
          !/^\$\([A-Za-z0-9_]+\)$/.test(e.value ?? '')
        ) {
          bad('secrets', cid, `${e.name} must come from the Secret (secretKeyRef), not a literal`);
        }
        const u = parseUrl(e.value ?? '');
        if (u?.password && !decodeURIComponent(u.password).startsWith('$(')) {
          bad(
            'secrets',
            cid,
            `${e.name} carries a literal password; compose it from a Secret-backed $(VAR)`,
          );
        }
      }
      if (!isProjectImage(c.image)) continue;
      const defined = (c.env ?? []).map((e) => e.name);
      for (const name of defined) {
        if (name.startsWith('K8S_')) {
          const used = (c.env ?? []).some((e) => (e.value ?? '').includes(`$(${name})`));
          if (!used) bad('env', cid, `${name} is a K8S_ helper no value uses`);
        } else if (!knownEnv.has(name) && !name.startsWith('OTEL_')) {
          bad('env', cid, `${name} is not read by lib/config.ts (typo?)`);
        }
      }
      for (const cm of (c.envFrom ?? [])
        .map((s) => s.configMapRef && cluster.get('ConfigMap', s.configMapRef.name))
        .filter(Boolean)) {
        for (const name of Object.keys(cm.data ?? {})) {
          if (!knownEnv.has(name) && !name.startsWith('OTEL_')) {
            bad('env', idOf(cm), `${name} is not read by lib/config.ts (typo?)`);
          }
        }
      }
    }
  }

  // --- the processes: one Deployment each, and what lib/config.ts makes of its environment
  const envEdges = checkProcesses(cluster, ctx, bad);

  // --- who holds which secret; NetworkPolicies against the edges table
  checkSecretAccess(cluster, external, bad);
  checkNetworkPolicies(cluster, ctx, envEdges, bad);

  return { violations: dedupe(violations) };
}

function dedupe(list) {
  const seen = new Set();
  return list.filter((v) => {
    const k = JSON.stringify(v);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * What lib/config.ts makes of a resolved environment, and whether the process it starts would
 * accept its secrets in production (assertProductionSecrets): the secrets of what it hosts.
 */
function loadChecked(config, vars) {
  const cfg = config.loadConfig(Object.fromEntries(vars));
  config.assertProductionSecrets(cfg);
  return cfg;
}

/** The gRPC services a process calls. */
function dialsOf(proc, ctx) {
  const dials = PROCESSES[proc]?.dials ?? [];
  return dials === 'routes' ? [...new Set([...ctx.routed, 'queue'])].sort() : dials;
}

/** The workload and container port behind `host:port` (a Service of this cluster), if any. */
function serviceTarget(cluster, host, port) {
  const svc = cluster.serviceForHost(host);
  const sp = svc && (svc.spec?.ports ?? []).find((p) => p.port === port);
  const w = sp && cluster.selected(svc.spec.selector)[0];
  const cp = w && containerPort(podSpecOf(w), sp.targetPort ?? sp.port);
  return cp === undefined ? undefined : `${w.metadata.name}:${cp}`;
}

/**
 * Checks each process's Deployment. Returns what each process's environment makes it connect
 * to, process -> Set of `workload:port`, for checkEdgeTable.
 */
function checkProcesses(cluster, ctx, bad) {
  const { config } = ctx;
  const envEdges = new Map();
  const byProcess = new Map();
  for (const w of cluster.workloads()) {
    for (const c of containersOf(podSpecOf(w))) {
      const proc = processOf(c);
      if (proc === undefined) {
        if (isProjectImage(c.image))
          bad(
            'processes',
            `${idOf(w)} ${c.name}`,
            'runs the project image without a literal SERVICES=<process>',
          );
        continue;
      }
      if (!byProcess.has(proc)) byProcess.set(proc, []);
      byProcess.get(proc).push({ w, c });
    }
  }
  for (const name of config.SERVICE_NAMES) {
    if (!PROCESSES[name])
      bad(
        'processes',
        name,
        `lib/config.ts knows process ${name}; scripts/k8s-validate.mjs does not (add it to PROCESSES)`,
      );
    const runs = byProcess.get(name) ?? [];
    if (runs.length !== 1)
      bad(
        'processes',
        name,
        `needs exactly one Deployment running SERVICES=${name}, found ${runs.length}`,
      );
  }
  for (const [proc] of byProcess) {
    if (!PROCESSES[proc])
      bad('processes', proc, `SERVICES=${proc} is not a single process of lib/config.ts`);
  }

  const txModes = new Set();
  const redisPrefixes = new Set();
  for (const [proc, runs] of byProcess) {
    const need = PROCESSES[proc];
    if (!need || runs.length !== 1) continue;
    const { w, c } = runs[0];
    const id = `${idOf(w)} ${c.name}`;
    const spec = podSpecOf(w);
    if (w.kind !== 'Deployment') bad('processes', id, 'boxoffice processes run as Deployments');

    // Static: the names this process needs, present.
    const { vars } = cluster.resolveEnv(c);
    // The identity keys of every process; each of the two remaining secrets in one process only.
    const required = ['NODE_ENV', 'SERVICES', 'MESH_KEYS_DIR'];
    if (proc === 'gateway') required.push('AUTH_JWT_SECRET');
    if (proc === 'queue') required.push('QUEUE_TOKEN_SECRET');
    required.push(
      'METRICS_HOST',
      'METRICS_PORT',
      'OTEL_TRACES_EXPORTER',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_SERVICE_NAME',
    );
    if (need.grpc) required.push('GRPC_HOST', `${proc.toUpperCase()}_GRPC_PORT`);
    for (const d of dialsOf(proc, ctx)) required.push(`${d.toUpperCase()}_GRPC_TARGET`);
    if (need.db) required.push(`${proc.toUpperCase()}_DB_URL`, 'DB_MIGRATE_ON_START');
    if (need.reads) for (const p of DB_OWNERS) required.push(`${p.toUpperCase()}_DB_URL`);
    if (need.amqp) required.push('AMQP_URL');
    if (need.redis) required.push('REDIS_URL');
    if (need.dataplatform) required.push('DATAPLATFORM_URL');
    if (proc === 'gateway') required.push('GATEWAY_HOST', 'GATEWAY_PORT');
    if (proc === 'dataplatform-mock') required.push('DATAPLATFORM_MOCK_HOST');
    if (need.participant || proc === 'coordinator') required.push('TX_MODE');
    for (const n of required) if (!vars.has(n)) bad('env-required', id, `${n} is not set`);

    // Semantic: what lib/config.ts makes of it.
    let cfg;
    try {
      cfg = loadChecked(config, vars);
    } catch (err) {
      bad('env-required', id, `lib/config.ts refuses this environment: ${err.message}`);
      continue;
    }
    const expect = (ok, message) => ok || bad('env-required', id, message);
    // What this environment connects to, for the NetworkPolicy edges (checkEdgeTable).
    const reaches = new Set();
    envEdges.set(proc, reaches);
    const reach = (url, defaultPort) => {
      const u = parseUrl(url ?? '');
      const to = u && serviceTarget(cluster, u.hostname, Number(u.port || defaultPort));
      if (to) reaches.add(to);
    };
    for (const d of dialsOf(proc, ctx)) reach(`grpc://${cfg.grpcTargets[d]}`);
    if (need.db) reach(`mysql://${cfg.db[proc].host}:${cfg.db[proc].port}`);
    if (need.reads) for (const p of DB_OWNERS) reach(`mysql://${cfg.db[p].host}:${cfg.db[p].port}`);
    if (need.amqp) reach(cfg.amqpUrl, 5672);
    if (need.redis) reach(cfg.redis.url, 6379);
    if (need.dataplatform && proc !== 'dataplatform-mock') reach(cfg.dataplatformUrl, 80);
    if (cfg.telemetry?.exporter === 'otlp') reach(vars.get('OTEL_EXPORTER_OTLP_ENDPOINT'), 4318);
    txModes.add(cfg.txMode);
    expect(cfg.nodeEnv === 'production', `NODE_ENV must be production, is ${cfg.nodeEnv}`);
    expect(
      cfg.services.length === 1 && cfg.services[0] === proc,
      `SERVICES must be exactly ${proc}`,
    );
    expect(
      String(vars.get('OTEL_SERVICE_NAME') ?? '').includes(proc),
      'OTEL_SERVICE_NAME must name the process',
    );
    if (cfg.telemetry)
      expect(
        cfg.telemetry.exporter === 'otlp',
        `OTEL_TRACES_EXPORTER must be otlp, is ${cfg.telemetry.exporter}`,
      );
    const otlp = parseUrl(vars.get('OTEL_EXPORTER_OTLP_ENDPOINT') ?? '');
    const otlpSvc = otlp && cluster.serviceForHost(otlp.hostname);
    expect(
      otlpSvc && (otlpSvc.spec?.ports ?? []).some((p) => p.port === Number(otlp.port || 80)),
      `OTEL_EXPORTER_OTLP_ENDPOINT ${vars.get('OTEL_EXPORTER_OTLP_ENDPOINT')} is not a Service port here`,
    );

    // Metrics: served on the pod IP, on the declared port, announced to Prometheus.
    const metricsPort = containerPort(spec, METRICS_PORT_NAME);
    const metricsHost = cfg.metricsHost ?? vars.get('METRICS_HOST');
    const metricsNumber = cfg.metricsPort ?? Number(vars.get('METRICS_PORT'));
    expect(
      metricsHost === '0.0.0.0',
      `METRICS_HOST must be 0.0.0.0 (is ${metricsHost}): Prometheus scrapes the pod IP`,
    );
    expect(
      metricsPort === metricsNumber,
      `METRICS_PORT ${metricsNumber} must be the container port named ${METRICS_PORT_NAME} (${metricsPort})`,
    );
    const ann = w.spec?.template?.metadata?.annotations ?? {};
    expect(
      ann['prometheus.io/scrape'] === 'true' && Number(ann['prometheus.io/port']) === metricsNumber,
      'pod template needs prometheus.io/scrape "true" and prometheus.io/port = METRICS_PORT',
    );

    if (need.grpc) {
      const port = cfg.grpcPorts[proc];
      expect(
        cfg.grpcHost === '0.0.0.0',
        `GRPC_HOST must be 0.0.0.0 (the pod IP), is ${cfg.grpcHost}`,
      );
      expect(
        containerPort(spec, 'grpc') === port,
        `container port "grpc" must be ${proc.toUpperCase()}_GRPC_PORT ${port}`,
      );
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        const p = c[probe];
        if (!p?.grpc) bad('probes', id, `${probe} must be a native grpc probe (grpc.health.v1)`);
        else if (p.grpc.port !== port)
          bad('probes', id, `${probe} checks port ${p.grpc.port}, the service listens on ${port}`);
      }
      const svc = cluster.get('Service', proc);
      expect(
        svc && (svc.spec?.ports ?? []).some((p) => p.port === port),
        `Service ${proc} must expose port ${port}`,
      );
    }
    for (const d of dialsOf(proc, ctx)) {
      const target = cfg.grpcTargets[d];
      const [host, portText] = target.split(/:(?=\d+$)/);
      const svc = cluster.serviceForHost(host);
      const peer = byProcess.get(d)?.[0];
      const peerPort = peer && containerPort(podSpecOf(peer.w), 'grpc');
      const svcPort = svc && (svc.spec?.ports ?? []).find((p) => p.port === Number(portText));
      expect(
        svc &&
          svcPort &&
          peer &&
          cluster.selected(svc.spec.selector).includes(peer.w) &&
          containerPort(podSpecOf(peer.w), svcPort.targetPort ?? svcPort.port) === peerPort,
        `${d.toUpperCase()}_GRPC_TARGET ${target} must be the ${d} Service, forwarding to its gRPC port`,
      );
    }
    if (need.db) {
      checkDatabase(cluster, cfg.db[proc], `${proc.toUpperCase()}_DB_URL`, (m) =>
        bad('env-required', id, m),
      );
      expect(
        cfg.db.migrateOnStart === false,
        'DB_MIGRATE_ON_START must be false: the migrate init container migrates',
      );
      const init = initContainersOf(spec).find((ic) =>
        (ic.command ?? [])
          .concat(ic.args ?? [])
          .join(' ')
          .includes(`dist/cmd/migrate.js ${proc}`),
      );
      if (!init) {
        bad('migrations', id, `no init container runs node dist/cmd/migrate.js ${proc}`);
      } else {
        const ie = cluster.resolveEnv(init).vars;
        let icfg;
        try {
          icfg = config.loadConfig(Object.fromEntries(ie));
        } catch (err) {
          bad(
            'migrations',
            `${idOf(w)} ${init.name}`,
            `lib/config.ts refuses this environment: ${err.message}`,
          );
        }
        if (icfg) {
          const a = cfg.db[proc];
          const b = icfg.db[proc];
          const same = ['host', 'port', 'user', 'password', 'database'].every((k) => a[k] === b[k]);
          if (!same)
            bad(
              'migrations',
              `${idOf(w)} ${init.name}`,
              `migrates another database than ${proc} uses`,
            );
        }
      }
    }
    if (need.reads) {
      for (const p of DB_OWNERS)
        checkDatabase(cluster, cfg.db[p], `${p.toUpperCase()}_DB_URL`, (m) =>
          bad('env-required', id, m),
        );
    }
    if (need.amqp) {
      const u = parseUrl(cfg.amqpUrl);
      const svc = u && cluster.serviceForHost(u.hostname);
      const broker =
        svc &&
        cluster
          .selected(svc.spec.selector)
          .find((x) => containersOf(podSpecOf(x)).some((cc) => cc.image?.startsWith('rabbitmq:')));
      if (!broker) {
        bad('env-required', id, `AMQP_URL ${cfg.amqpUrl} does not point at the RabbitMQ Service`);
      } else {
        const rc = containersOf(podSpecOf(broker)).find((cc) => cc.image?.startsWith('rabbitmq:'));
        const re = cluster.resolveEnv(rc).vars;
        expect(
          decodeURIComponent(u.username) === (re.get('RABBITMQ_DEFAULT_USER') ?? 'guest') &&
            decodeURIComponent(u.password) === (re.get('RABBITMQ_DEFAULT_PASS') ?? 'guest'),
          "AMQP_URL credentials must be the broker's RABBITMQ_DEFAULT_USER/PASS",
        );
        expect(
          (svc.spec.ports ?? []).some((p) => p.port === Number(u.port || 5672)),
          `AMQP_URL port ${u.port} is not a port of Service ${svc.metadata.name}`,
        );
      }
    }
    if (need.redis) {
      const u = parseUrl(cfg.redis.url);
      const svc = u && cluster.serviceForHost(u.hostname);
      const redis =
        svc &&
        cluster
          .selected(svc.spec.selector)
          .find((x) => containersOf(podSpecOf(x)).some((cc) => cc.image?.startsWith('redis:')));
      if (!redis) {
        bad('env-required', id, `REDIS_URL ${cfg.redis.url} does not point at the Redis Service`);
      } else {
        const server = redisServer(cluster, redis);
        const user = decodeURIComponent(u.username) || 'default';
        const password = decodeURIComponent(u.password);
        redisPrefixes.add(cfg.redis.keyPrefix);
        expect(
          user === need.redis,
          `REDIS_URL must log in as Redis user ${need.redis}, logs in as ${user}`,
        );
        if (need.redis === 'default') {
          expect(
            password === (server.vars.get('REDIS_PASSWORD') ?? ''),
            "REDIS_URL password must be Redis's REDIS_PASSWORD",
          );
        } else {
          const acl = server.users.get(need.redis);
          if (!acl) {
            bad('redis-acl', id, `Redis defines no user ${need.redis} (--user in its args)`);
          } else {
            expect(
              acl.passwords.has(password),
              `REDIS_URL password must be the one Redis's ACL gives user ${need.redis}`,
            );
            const want = REDIS_USERS[need.redis];
            const channels = want.channels(cfg.redis.keyPrefix, ctx);
            for (const m of aclProblems(acl, { commands: want.commands, channels }))
              bad('redis-acl', `${idOf(redis)} user ${need.redis}`, m);
          }
        }
      }
    }
    if (need.dataplatform) {
      const u = parseUrl(cfg.dataplatformUrl);
      const svc = u && cluster.serviceForHost(u.hostname);
      const mock = byProcess.get('dataplatform-mock')?.[0];
      const svcPort = svc && (svc.spec.ports ?? []).find((p) => p.port === Number(u.port || 80));
      expect(
        svc && svcPort && mock && cluster.selected(svc.spec.selector).includes(mock.w),
        `DATAPLATFORM_URL ${cfg.dataplatformUrl} must be a port of the dataplatform-mock Service`,
      );
      if (proc === 'dataplatform-mock') {
        expect(
          containerPort(spec, 'http') === Number(u?.port || 80),
          'the mock listens on the port of DATAPLATFORM_URL: container port "http" must match',
        );
        const host = cfg.dataplatformMockHost ?? vars.get('DATAPLATFORM_MOCK_HOST');
        expect(host === '0.0.0.0', 'DATAPLATFORM_MOCK_HOST must be 0.0.0.0 (the pod IP)');
      }
    }
    if (!need.grpc && !need.http) {
      // No port of its own: the probes use the /metrics server (the process and its event loop).
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        const g = c[probe]?.httpGet;
        if (!g || containerPort(spec, g.port) !== metricsNumber) {
          bad(
            'probes',
            id,
            `${probe} must GET the metrics port (a consumer has no port of its own)`,
          );
        }
      }
    }
    if (proc === 'gateway') {
      expect(
        cfg.gateway.host === '0.0.0.0',
        `GATEWAY_HOST must be 0.0.0.0, is ${cfg.gateway.host}`,
      );
      expect(
        containerPort(spec, 'http') === cfg.gateway.port,
        `container port "http" must be GATEWAY_PORT ${cfg.gateway.port}`,
      );
      const r = c.readinessProbe?.httpGet;
      const l = c.livenessProbe?.httpGet;
      if (r?.path !== '/readyz') bad('probes', id, 'gateway readinessProbe must be GET /readyz');
      if (l?.path !== '/healthz') bad('probes', id, 'gateway livenessProbe must be GET /healthz');
    }
    if (need.participant) {
      if ((w.spec?.replicas ?? 1) !== 1 || w.spec?.strategy?.type !== 'Recreate') {
        bad(
          'processes',
          id,
          'XA participants run one replica with strategy Recreate: phase 2 must reach the process holding the prepared branch',
        );
      }
    }
  }
  if (txModes.size > 1)
    bad('env-required', 'TX_MODE', `processes disagree on TX_MODE: ${[...txModes].join(', ')}`);
  // The queue publishes ended tokens on its prefix's channel, the gateway listens on its own.
  if (redisPrefixes.size > 1)
    bad(
      'env-required',
      'REDIS_KEY_PREFIX',
      `processes disagree on REDIS_KEY_PREFIX: ${[...redisPrefixes].join(', ')}`,
    );
  checkRedisServers(cluster, bad);
  return envEdges;
}

// --------------------------------------------------------------------------- Redis users

/**
 * What a redis container is started with: its environment, and the ACL users its args define
 * (`--user NAME RULES…`), grouped as redis-server groups its arguments: each `--name` starts a
 * directive, unless the directive before it has no value yet.
 */
function redisServer(cluster, w) {
  const rc = containersOf(podSpecOf(w)).find((c) => c.image?.startsWith('redis:'));
  const directives = [];
  for (const a of cluster.resolveArgs(rc).args) {
    const last = directives.at(-1);
    if (a.startsWith('--') && (!last || last.length > 1)) directives.push([a.slice(2)]);
    else last?.push(a);
  }
  const users = new Map();
  const problems = [];
  for (const [, user, ...rules] of directives.filter((d) => d[0].toLowerCase() === 'user')) {
    if (users.has(user)) problems.push(`--user ${user} is defined twice`);
    users.set(user, redisAcl(rules));
  }
  return { vars: cluster.resolveEnv(rc).vars, users, problems };
}

/**
 * What a new user's ACL rules grant, applied in order as Redis applies them, for the rules these
 * manifests may use; any other rule (nopass, hashed passwords, categories but -@all, selectors,
 * reset) is listed in `unknown`, not guessed at.
 */
function redisAcl(rules) {
  const acl = {
    on: false,
    passwords: new Set(),
    keys: new Set(),
    // Until resetchannels, acl-pubsub-default decides (allchannels unless configured otherwise).
    channels: new Set(['*']),
    commands: new Set(),
    unknown: [],
  };
  for (const r of rules) {
    const rule = r.toLowerCase();
    if (rule === 'on' || rule === 'off') acl.on = rule === 'on';
    else if (r.startsWith('>')) acl.passwords.add(r.slice(1));
    else if (r.startsWith('<')) acl.passwords.delete(r.slice(1));
    else if (rule === 'resetpass') acl.passwords.clear();
    else if (r.startsWith('~') || r.startsWith('%') || rule === 'allkeys') acl.keys.add(r);
    else if (rule === 'resetkeys') acl.keys.clear();
    else if (r.startsWith('&')) acl.channels.add(r.slice(1));
    else if (rule === 'allchannels') acl.channels.add('*');
    else if (rule === 'resetchannels') acl.channels.clear();
    else if (rule === '-@all' || rule === 'nocommands') acl.commands.clear();
    else if (r.startsWith('+')) acl.commands.add(rule.slice(1));
    else if (r.startsWith('-') && !r.startsWith('-@')) acl.commands.delete(rule.slice(1));
    else acl.unknown.push(r);
  }
  return acl;
}

/** How an ACL differs from exactly `want` (its commands and channels) and no key, enabled. */
function aclProblems(acl, want) {
  const problems = acl.unknown.map((r) => `rule ${r} is not one this check can judge`);
  if (!acl.on) problems.push('is not on');
  if (acl.passwords.size !== 1) problems.push(`has ${acl.passwords.size} passwords, not one`);
  if (acl.keys.size) problems.push(`grants keys ${[...acl.keys].join(' ')}: it needs none`);
  const compare = (what, got, need) => {
    const extra = [...got].filter((x) => !need.includes(x));
    const lacking = need.filter((x) => !got.has(x));
    if (extra.length) problems.push(`grants ${what} ${extra.join(' ')} beyond ${need.join(' ')}`);
    if (lacking.length) problems.push(`lacks ${what} ${lacking.join(' ')}`);
  };
  compare('commands', acl.commands, want.commands);
  compare('channels', acl.channels, want.channels);
  for (const c of want.channels.filter((x) => /[*?[\]\\]/.test(x)))
    problems.push(`channel ${c} has glob characters: as an ACL pattern it matches other channels`);
  return problems;
}

/** Every redis container: each ACL user defined once, none for `default`, none unused. */
function checkRedisServers(cluster, bad) {
  const used = new Set(Object.values(PROCESSES).map((p) => p.redis));
  for (const w of cluster.workloads()) {
    if (!containersOf(podSpecOf(w)).some((c) => c.image?.startsWith('redis:'))) continue;
    const server = redisServer(cluster, w);
    for (const p of server.problems) bad('redis-acl', idOf(w), p);
    for (const user of server.users.keys()) {
      if (user === 'default')
        bad('redis-acl', idOf(w), '--user default: the default user is --requirepass, the queue');
      else if (!used.has(user))
        bad('redis-acl', `${idOf(w)} user ${user}`, 'no process logs in as it (PROCESSES)');
    }
  }
}

/** A process's database: a MariaDB StatefulSet behind a headless Service, same credentials. */
function checkDatabase(cluster, db, varName, fail) {
  if (LOOPBACK.has(db.host)) return fail(`${varName} is not set: the database would be ${db.host}`);
  const svc = cluster.serviceForHost(db.host);
  if (!svc) return fail(`${varName} host ${db.host} is not a Service here`);
  if (svc.spec?.clusterIP !== 'None')
    fail(`${varName}: Service ${svc.metadata.name} should be the StatefulSet's headless Service`);
  const svcPort = (svc.spec?.ports ?? []).find((p) => p.port === db.port);
  if (!svcPort)
    return fail(`${varName} port ${db.port} is not a port of Service ${svc.metadata.name}`);
  const sts = cluster.selected(svc.spec.selector).find((w) => w.kind === 'StatefulSet');
  if (!sts) return fail(`${varName}: Service ${svc.metadata.name} selects no StatefulSet`);
  const mc = containersOf(podSpecOf(sts)).find((c) => c.image?.startsWith('mariadb:'));
  if (!mc) return fail(`${varName}: ${idOf(sts)} runs no MariaDB`);
  const env = cluster.resolveEnv(mc).vars;
  if (env.get('MARIADB_DATABASE') !== db.database)
    fail(
      `${varName}: ${idOf(sts)} creates database ${env.get('MARIADB_DATABASE')}, the process uses ${db.database}`,
    );
  if (env.get('MARIADB_USER') !== db.user || env.get('MARIADB_PASSWORD') !== db.password) {
    fail(`${varName}: user or password differ from ${idOf(sts)}'s MARIADB_USER/MARIADB_PASSWORD`);
  }
  if (
    !(mc.args ?? []).some(
      (a) => /^--max[-_]connections=(\d+)$/.test(a) && Number(a.split('=')[1]) >= 500,
    )
  ) {
    fail(
      `${idOf(sts)}: MariaDB needs --max-connections >= 500 (prepared XA branches pin connections)`,
    );
  }
  // lib/db.ts creates databases utf8mb4_bin; the image creates them with the server default.
  if (!(mc.args ?? []).includes('--collation-server=utf8mb4_bin')) {
    fail(
      `${idOf(sts)}: MariaDB needs --collation-server=utf8mb4_bin (as lib/db.ts creates databases)`,
    );
  }
  if (
    (mc.volumeMounts ?? []).every((m) => m.mountPath !== '/var/lib/mysql') ||
    !(sts.spec?.volumeClaimTemplates ?? []).length
  ) {
    fail(`${idOf(sts)}: the data directory needs a volume claim`);
  }
}

// ------------------------------------------------------------------------- secret access

/** Every `secret/key` a pod template references: env, envFrom, volumes, init containers too. */
function secretRefs(cluster, spec) {
  const refs = new Map(); // `secret/key` -> where
  const allKeys = (name) => Object.keys(decodeSecret(cluster.get('Secret', name) ?? {}));
  const add = (name, keys, where) => {
    for (const k of keys.length ? keys : ['*']) refs.set(`${name}/${k}`, where);
  };
  for (const c of [...initContainersOf(spec), ...containersOf(spec)]) {
    for (const e of c.env ?? []) {
      const r = e.valueFrom?.secretKeyRef;
      if (r) add(r.name, [r.key], `${c.name} env ${e.name}`);
    }
    for (const s of c.envFrom ?? []) {
      if (s.secretRef) add(s.secretRef.name, allKeys(s.secretRef.name), `${c.name} envFrom`);
    }
  }
  for (const v of spec?.volumes ?? []) {
    const sources = v.secret
      ? [{ secret: { name: v.secret.secretName, items: v.secret.items } }]
      : (v.projected?.sources ?? []);
    for (const s of sources.filter((x) => x.secret)) {
      const keys = s.secret.items?.map((i) => i.key) ?? allKeys(s.secret.name);
      add(s.secret.name, keys, `volume ${v.name}`);
    }
  }
  return refs;
}

/**
 * Least privilege: each pod references exactly the secrets of SECRET_ACCESS; the tx key only in
 * the coordinator and the participants; the operator's private key nowhere; MESH_SECRET never;
 * every process finds its keys in one read-only projected volume at MESH_KEYS_DIR; everything
 * secrets.sh makes is used, and holds what its name says.
 */
function checkSecretAccess(cluster, external, bad) {
  const used = new Set();
  for (const w of cluster.workloads()) {
    const id = idOf(w);
    const name = w.metadata?.name;
    const spec = podSpecOf(w);
    const refs = secretRefs(cluster, spec);
    const want = SECRET_ACCESS.get(name);
    for (const [ref, where] of refs) {
      const [secret, key] = ref.split('/');
      used.add(secret);
      const obj = cluster.get('Secret', secret);
      if (!obj) bad('secret-access', id, `${where}: Secret ${secret} is not made by secrets.sh`);
      else if (key !== '*' && !(key in decodeSecret(obj)))
        bad('secret-access', id, `${where}: Secret ${secret} has no key ${key}`);
      if ((secret === 'mesh-tx-key' || key === 'tx.key') && !TX_HOLDERS.includes(name))
        bad(
          'secret-access',
          id,
          `${where}: the tx key is for ${TX_HOLDERS.join(', ')} only (it signs transaction contexts)`,
        );
      if (key === 'operator.key')
        bad('secret-access', id, `${where}: the operator's private key belongs in no pod`);
    }
    if (!want) {
      bad('secret-access', id, `no row in SECRET_ACCESS: which secrets does ${name} need?`);
      continue;
    }
    for (const ref of refs.keys())
      if (!want.has(ref)) bad('secret-access', id, `holds ${ref}, which it does not need`);
    for (const ref of want)
      if (!refs.has(ref)) bad('secret-access', id, `lacks ${ref}, which it needs`);

    // Every boxoffice process: MESH_KEYS_DIR, one read-only projected volume with the public keys.
    for (const c of containersOf(spec).filter((x) => processOf(x))) {
      const cid = `${id} ${c.name}`;
      if (envValue(c, 'MESH_KEYS_DIR')?.value !== MESH_DIR)
        bad('secret-access', cid, `MESH_KEYS_DIR must be ${MESH_DIR}`);
      const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === MESH_DIR);
      const vol = mount && (spec.volumes ?? []).find((v) => v.name === mount.name);
      if (!mount || mount.readOnly !== true || !vol?.projected)
        bad('secret-access', cid, `needs a read-only projected volume at ${MESH_DIR}`);
      else if (!vol.projected.sources.some((s) => s.configMap?.name === 'mesh-public-keys'))
        bad('secret-access', cid, `the volume at ${MESH_DIR} lacks ConfigMap mesh-public-keys`);
    }
    for (const c of [...initContainersOf(spec), ...containersOf(spec)]) {
      if ((c.env ?? []).some((e) => e.name === 'MESH_SECRET'))
        bad('secret-access', `${id} ${c.name}`, 'MESH_SECRET is a development fallback only');
    }
  }
  for (const cm of cluster.all('ConfigMap'))
    if ('MESH_SECRET' in (cm.data ?? {}))
      bad('secret-access', idOf(cm), 'MESH_SECRET is a development fallback only');

  // What secrets.sh makes: each Secret used, each key where its name says.
  for (const o of external) {
    const id = `secrets.sh ${idOf(o)}`;
    const keys = Object.keys(o.kind === 'Secret' ? decodeSecret(o) : (o.data ?? {}));
    if (keys.includes('operator.key')) bad('secret-access', id, "holds the operator's private key");
    if (o.kind === 'Secret' && !used.has(o.metadata.name))
      bad('secret-access', id, 'no pod uses it');
    const m = /^mesh-key-(.+)$/.exec(o.metadata.name);
    if (m && (keys.length !== 1 || keys[0] !== `${m[1]}.key`))
      bad('secret-access', id, `must hold ${m[1]}.key alone, holds ${keys.join(', ')}`);
    if (o.kind === 'ConfigMap' && o.metadata.name === 'mesh-public-keys') {
      const want = PUBLIC_KEYS.map((k) => `${k}.pub`);
      if (JSON.stringify([...keys].sort()) !== JSON.stringify([...want].sort()))
        bad('secret-access', id, `must hold exactly ${want.join(', ')}; holds ${keys.join(', ')}`);
    }
  }
  if (!cluster.get('ConfigMap', 'mesh-public-keys'))
    bad('secret-access', 'ConfigMap/mesh-public-keys', 'secrets.sh must make it');
}

// ----------------------------------------------------------------------- network policies

function selectorMatches(sel, labels) {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const ok = {
      In: () => has && (e.values ?? []).includes(labels[e.key]),
      NotIn: () => !has || !(e.values ?? []).includes(labels[e.key]),
      Exists: () => has,
      DoesNotExist: () => !has,
    }[e.operator];
    if (!ok?.()) return false;
  }
  return true;
}

const isEmptySelector = (sel) =>
  !!sel && !Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length;

function describeSelector(sel) {
  const parts = [
    ...Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(sel?.matchExpressions ?? []).map(
      (e) => `${e.key} ${e.operator}${e.values ? ` (${e.values.join(',')})` : ''}`,
    ),
  ].sort();
  return `{${parts.join(',')}}`;
}

const policyTypes = (np) =>
  np.spec?.policyTypes ?? ['Ingress', ...(np.spec?.egress ? ['Egress'] : [])];

/** The policies of one rendering, evaluated the way the NetworkPolicy API defines them. */
class Policies {
  constructor(cluster) {
    this.cluster = cluster;
    this.list = cluster.all('NetworkPolicy');
    const ns = cluster.get('Namespace', NAMESPACE);
    // Set by the API server on every namespace since Kubernetes 1.22.
    this.nsLabels = { ...labelsOf(ns ?? {}), 'kubernetes.io/metadata.name': NAMESPACE };
  }

  /** Policies selecting a workload's pods for 'Ingress' or 'Egress'. */
  selecting(w, dir) {
    const labels = podLabelsOf(w);
    return this.list.filter(
      (np) => policyTypes(np).includes(dir) && selectorMatches(np.spec?.podSelector, labels),
    );
  }

  /** Does a peer of a rule (a `from` or `to` entry) take in a pod of this namespace? */
  peerTakes(peer, w) {
    if (peer.ipBlock) return false; // pod IPs are not fixed: never how a pod is meant here
    if (peer.namespaceSelector && !selectorMatches(peer.namespaceSelector, this.nsLabels))
      return false;
    return selectorMatches(peer.podSelector ?? {}, podLabelsOf(w));
  }

  static portTaken(ports, dstSpec, port, protocol) {
    if (!ports?.length) return true;
    return ports.some((p) => {
      if ((p.protocol ?? 'TCP') !== protocol) return false;
      if (p.port === undefined) return true;
      if (typeof p.port === 'string') return containerPort(dstSpec, p.port) === port;
      return p.endPort ? port >= p.port && port <= p.endPort : p.port === port;
    });
  }

  /**
   * Is `self`'s side of a connection with `peer` on `dst`'s port allowed? 'named' when a rule
   * names the peer, 'open' when a rule lets anything through, false when denied; true when no
   * policy isolates `self` in that direction.
   */
  allows(dir, self, peer, dst, port, protocol) {
    const policies = this.selecting(self, dir);
    if (!policies.length) return true;
    let verdict = false;
    for (const np of policies) {
      for (const rule of (dir === 'Ingress' ? np.spec.ingress : np.spec.egress) ?? []) {
        if (!Policies.portTaken(rule.ports, podSpecOf(dst), port, protocol)) continue;
        const peers = (dir === 'Ingress' ? rule.from : rule.to) ?? [];
        if (!peers.length) verdict ||= 'open';
        else if (peers.some((p) => this.peerTakes(p, peer))) return 'named';
      }
    }
    return verdict;
  }

  /** Allowed connections inside the namespace, and those allowed by one side only. */
  edges() {
    const edges = new Set();
    const half = [];
    const pods = this.cluster.workloads();
    for (const src of pods) {
      for (const dst of pods) {
        if (src === dst) continue;
        for (const c of containersOf(podSpecOf(dst))) {
          for (const p of c.ports ?? []) {
            const proto = p.protocol ?? 'TCP';
            const edge = `${src.metadata.name} → ${dst.metadata.name}:${p.containerPort}/${proto}`;
            const out = this.allows('Egress', src, dst, dst, p.containerPort, proto);
            const into = this.allows('Ingress', dst, src, dst, p.containerPort, proto);
            if (out && into) edges.add(edge);
            else if (out === 'named') half.push(`${edge}: egress allowed, ingress denied`);
            else if (into === 'named') half.push(`${edge}: ingress allowed, egress denied`);
          }
        }
      }
    }
    return { edges, half };
  }

  /** Connections with the world outside the namespace that the policies allow. */
  external() {
    const out = new Set();
    for (const w of this.cluster.workloads()) {
      const name = w.metadata.name;
      for (const dir of ['Ingress', 'Egress']) {
        for (const np of this.selecting(w, dir)) {
          for (const rule of (dir === 'Ingress' ? np.spec.ingress : np.spec.egress) ?? []) {
            const peers = (dir === 'Ingress' ? rule.from : rule.to) ?? [];
            const outside = peers.length
              ? peers.filter(
                  (p) =>
                    p.ipBlock ||
                    (p.namespaceSelector &&
                      (isEmptySelector(p.namespaceSelector) ||
                        !selectorMatches(p.namespaceSelector, this.nsLabels))),
                )
              : [{}];
            for (const peer of outside) {
              const who = describePeer(peer);
              for (const p of rule.ports?.length ? rule.ports : [{ port: 'all ports' }]) {
                const port = `${p.port ?? 'all ports'}/${p.protocol ?? 'TCP'}`;
                out.add(
                  dir === 'Ingress' ? `${who} → ${name}:${port}` : `${name} → ${who}:${port}`,
                );
              }
            }
          }
        }
      }
    }
    return out;
  }
}

function describePeer(peer) {
  if (peer.ipBlock) return `ip{${peer.ipBlock.cidr}${peer.ipBlock.except ? ' except …' : ''}}`;
  if (!peer.namespaceSelector) return 'any';
  const pods = peer.podSelector ? ` pods${describeSelector(peer.podSelector)}` : '';
  return `ns${describeSelector(peer.namespaceSelector)}${pods}`;
}

/** EDGES with port numbers: `from → to:port/TCP`; problems name rows that do not resolve. */
function tableEdges(cluster, rows) {
  const edges = new Set();
  const problems = [];
  for (const [from, to, portName] of rows) {
    const dst = cluster.workloads().find((w) => w.metadata.name === to);
    const port = dst && containerPort(podSpecOf(dst), portName);
    if (!cluster.workloads().some((w) => w.metadata.name === from) || port === undefined)
      problems.push(`EDGES row ${from} → ${to}:${portName} names no pod or port here`);
    else edges.add(`${from} → ${to}:${port}/TCP`);
  }
  return { edges, problems };
}

/**
 * The edges table against each process's environment: a process connects to exactly what its
 * table rows say (its database and no other, its broker, Redis, peers, Jaeger).
 */
function checkEdgeTable(cluster, table, envEdges, bad) {
  for (const [proc, reaches] of envEdges) {
    const w = cluster
      .workloads()
      .find((x) => containersOf(podSpecOf(x)).some((c) => processOf(c) === proc));
    if (!w) continue;
    const rows = new Set(
      [...table]
        .filter((e) => e.startsWith(`${w.metadata.name} → `))
        .map((e) => e.split(' → ')[1].replace(/\/TCP$/, '')),
    );
    for (const r of reaches)
      if (!rows.has(r))
        bad('netpol-table', proc, `its environment connects to ${r}; EDGES has no such row`);
    for (const r of rows)
      if (!reaches.has(r))
        bad('netpol-table', proc, `EDGES lets it reach ${r}, which its environment never names`);
  }
}

/**
 * Default deny in both directions for every pod; every pod named by a policy of its own; every
 * rule names its ports; the allowed connections inside the namespace are exactly EDGES (none
 * allowed by one side only); those with the outside exactly DNS for every pod, clients to the
 * gateway (and to whatever a NodePort exposes), Prometheus to every scraped pod.
 */
function checkNetworkPolicies(cluster, ctx, envEdges, bad) {
  const pol = new Policies(cluster);
  const deny = pol.list.find(
    (np) =>
      isEmptySelector(np.spec?.podSelector) &&
      ['Ingress', 'Egress'].every((d) => policyTypes(np).includes(d)) &&
      !(np.spec.ingress ?? []).length &&
      !(np.spec.egress ?? []).length,
  );
  if (!deny)
    bad(
      'netpol-deny',
      'NetworkPolicy',
      'no default-deny policy (podSelector {}, policyTypes Ingress and Egress, no rules)',
    );
  for (const w of cluster.workloads()) {
    if (
      !pol.list.some(
        (np) =>
          !isEmptySelector(np.spec?.podSelector) &&
          selectorMatches(np.spec?.podSelector, podLabelsOf(w)),
      )
    )
      bad('netpol-select', idOf(w), 'no NetworkPolicy selects its pods (by their labels)');
  }
  for (const np of pol.list) {
    for (const dir of ['ingress', 'egress']) {
      (np.spec?.[dir] ?? []).forEach((rule, i) => {
        if (!rule.ports?.length)
          bad('netpol-rules', idOf(np), `${dir}[${i}] names no ports: it would allow every port`);
      });
    }
  }

  const table = tableEdges(cluster, ctx.edges);
  for (const p of table.problems) bad('netpol-table', 'EDGES', p);
  checkEdgeTable(cluster, table.edges, envEdges, bad);
  const { edges, half } = pol.edges();
  for (const e of table.edges)
    if (!edges.has(e)) bad('netpol-edges', e, 'in EDGES, but the policies do not allow it');
  for (const e of edges)
    if (!table.edges.has(e)) bad('netpol-edges', e, 'allowed by the policies, but not in EDGES');
  for (const h of half) bad('netpol-edges', h.split(':')[0], `one side only: ${h}`);

  const want = new Set();
  for (const w of cluster.workloads()) {
    const name = w.metadata.name;
    want.add(`${name} → ${DNS_PEER}:53/UDP`).add(`${name} → ${DNS_PEER}:53/TCP`);
    const ann = w.spec?.template?.metadata?.annotations ?? {};
    if (ann['prometheus.io/scrape'] === 'true')
      want.add(`${SCRAPER_PEER} → ${name}:${ann['prometheus.io/port']}/TCP`);
  }
  for (const [pod, portName] of PUBLIC) {
    const w = cluster.workloads().find((x) => x.metadata.name === pod);
    want.add(`any → ${pod}:${w && containerPort(podSpecOf(w), portName)}/TCP`);
  }
  // A NodePort's published ports (those with a fixed nodePort, which deploy/kind/cluster.yaml maps).
  for (const svc of cluster.all('Service').filter((s) => s.spec?.type === 'NodePort')) {
    for (const w of cluster.selected(svc.spec.selector)) {
      for (const p of (svc.spec.ports ?? []).filter((x) => x.nodePort !== undefined))
        want.add(
          `any → ${w.metadata.name}:${containerPort(podSpecOf(w), p.targetPort ?? p.port)}/TCP`,
        );
    }
  }
  const got = pol.external();
  for (const e of want) if (!got.has(e)) bad('netpol-external', e, 'the policies do not allow it');
  for (const e of got)
    if (!want.has(e)) bad('netpol-external', e, 'allowed by the policies, but nothing needs it');
}

// ----------------------------------------------------------------- across renderings

/** The objects with generated-name hashes removed, so two renderings compare by content. */
function normalized(objects) {
  const names = new Map();
  for (const o of objects) {
    const n = o.metadata?.name ?? '';
    const m = /^(.*)-[a-z0-9]{10}$/.exec(n);
    if (m && (o.kind === 'ConfigMap' || o.kind === 'Secret')) names.set(n, m[1]);
  }
  let text = JSON.stringify(objects);
  for (const [hashed, plain] of names) text = text.split(`"${hashed}"`).join(`"${plain}"`);
  return JSON.parse(text);
}

/** Paths where two JSON values differ. */
function differences(a, b, path = '', out = []) {
  if (JSON.stringify(a) === JSON.stringify(b)) return out;
  if (
    a &&
    b &&
    typeof a === 'object' &&
    typeof b === 'object' &&
    Array.isArray(a) === Array.isArray(b)
  ) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) differences(a[k], b[k], path ? `${path}.${k}` : k, out);
    return out;
  }
  out.push(path || '(root)');
  return out;
}

/** The mode overlays (`xa`/`saga`, also within a name like kind-xa) differ only in TX_MODE. */
/** `partial`: only some renderings were asked for, so a missing counterpart is no fault. */
function checkModePairs(renderings, partial = false) {
  const violations = [];
  const byName = new Map(renderings.map((r) => [r.name, r.objects]));
  const pairs = [];
  for (const name of byName.keys()) {
    const parts = name.split('-');
    const i = parts.indexOf('xa');
    if (i < 0) continue;
    const saga = [...parts.slice(0, i), 'saga', ...parts.slice(i + 1)].join('-');
    if (byName.has(saga)) pairs.push([name, saga]);
    else if (!partial)
      violations.push({
        rule: 'mode-diff',
        where: name,
        message: `no saga counterpart (${saga}) to compare with`,
      });
  }
  const diff = (x, y) => {
    const a = indexByKindName(normalized(byName.get(x)));
    const b = indexByKindName(normalized(byName.get(y)));
    const diffs = [];
    for (const key of new Set([...a.keys(), ...b.keys()])) {
      for (const p of differences(a.get(key), b.get(key)))
        diffs.push(`${key}${p === '(root)' ? ' (only in one)' : ` ${p}`}`);
    }
    return { a, b, diffs };
  };
  // Without a mode component, an overlay runs the base's default, saga: it equals its -saga twin.
  for (const name of byName.keys()) {
    const parts = name.split('-');
    if (parts.includes('xa') || parts.includes('saga')) continue;
    const twin = name === 'base' ? 'saga' : `${name}-saga`;
    if (!byName.has(twin)) continue;
    pairs.push([name, twin]);
    for (const d of diff(name, twin).diffs) {
      violations.push({ rule: 'mode-diff', where: `${name} vs ${twin}`, message: `differ: ${d}` });
    }
  }
  for (const [xa, saga] of pairs.filter(([x]) => x.split('-').includes('xa'))) {
    const { a, b, diffs } = diff(xa, saga);
    const allowed = (d) => /^ConfigMap\/boxoffice-config data\.TX_MODE$/.test(d);
    for (const d of diffs.filter((x) => !allowed(x))) {
      violations.push({
        rule: 'mode-diff',
        where: `${xa} vs ${saga}`,
        message: `differ beyond TX_MODE: ${d}`,
      });
    }
    const modeOf = (m) => m.get('ConfigMap/boxoffice-config')?.data?.TX_MODE;
    if (modeOf(a) !== 'xa')
      violations.push({ rule: 'mode-diff', where: xa, message: `TX_MODE is ${modeOf(a)}, not xa` });
    if (modeOf(b) !== 'saga')
      violations.push({
        rule: 'mode-diff',
        where: saga,
        message: `TX_MODE is ${modeOf(b)}, not saga`,
      });
  }
  return { violations, pairs };
}

function indexByKindName(objects) {
  return new Map(objects.map((o) => [idOf(o), o]));
}

/** Every NodePort of a kind overlay is published by deploy/kind/cluster.yaml, and back. */
function checkKindPorts(renderings, kindConfig) {
  const violations = [];
  const bad = (where, message) => violations.push({ rule: 'kind-ports', where, message });
  const mappings = new Map();
  if (kindConfig?.kind !== 'Cluster' || kindConfig?.apiVersion !== 'kind.x-k8s.io/v1alpha4') {
    bad('deploy/kind/cluster.yaml', 'must be a kind Cluster (kind.x-k8s.io/v1alpha4)');
  }
  for (const node of kindConfig?.nodes ?? []) {
    for (const m of node.extraPortMappings ?? []) mappings.set(m.containerPort, m);
  }
  for (const r of renderings.filter((x) => x.name.split('-').includes('kind'))) {
    const nodePorts = new Set();
    for (const svc of r.objects.filter(
      (o) => o.kind === 'Service' && o.spec?.type === 'NodePort',
    )) {
      for (const p of svc.spec.ports ?? []) {
        if (p.nodePort === undefined) continue;
        nodePorts.add(p.nodePort);
        if (!mappings.has(p.nodePort)) {
          bad(
            `${r.name} ${idOf(svc)}`,
            `nodePort ${p.nodePort} is not in deploy/kind/cluster.yaml extraPortMappings`,
          );
        }
      }
    }
    for (const [port, m] of mappings) {
      if (!nodePorts.has(port))
        bad(
          r.name,
          `cluster.yaml maps containerPort ${port} (host ${m.hostPort}), which no NodePort uses`,
        );
    }
    for (const want of ['gateway', 'jaeger-ui']) {
      const svc = r.objects.find((o) => o.kind === 'Service' && o.metadata?.name === want);
      if (svc?.spec?.type !== 'NodePort')
        bad(`${r.name} Service/${want}`, 'must be a NodePort on kind (published on a host port)');
    }
  }
  return violations;
}

// ------------------------------------------------------------------------------- driving

async function makeContext(deps) {
  const { config } = deps;
  // The exact names loadConfig reads, recorded through a Proxy (it reads every one, always).
  const knownEnv = new Set();
  const probe = new Proxy(
    { NODE_ENV: 'development', SERVICES: 'all' },
    {
      get(t, k) {
        if (typeof k === 'string') knownEnv.add(k);
        return t[k];
      },
    },
  );
  config.loadConfig(probe);
  // Development defaults of the secrets (refused in production, so never in the Secret).
  const source = readFileSync(CONFIG_TS, 'utf8');
  const devSecrets = new Set(
    [...source.matchAll(/const DEV_[A-Z_]+\s*=\s*'([^']+)'/g)].map((m) => m[1]),
  );
  for (const v of ['guest', 'root', '']) devSecrets.add(v);
  return {
    config,
    knownEnv,
    devSecrets,
    shapes: new FieldShapes(deps.ts, deps.kmDir),
    routed: routedServices(),
    edges: EDGES,
    endedTokensChannel: deps.activePass.ENDED_TOKENS_CHANNEL,
    external: secretObjects(deps.YAML),
  };
}

/** The services the gateway's REST routes reach: proto packages with a google.api.http option. */
function routedServices() {
  const out = new Set();
  for (const svc of readdirSync(PROTO_DIR)) {
    const dir = join(PROTO_DIR, svc);
    for (const version of existsSync(dir) ? readdirSync(dir) : []) {
      const vdir = join(dir, version);
      for (const f of readdirSync(vdir).filter((x) => x.endsWith('.proto'))) {
        if (/option\s*\(google\.api\.http\)/.test(readFileSync(join(vdir, f), 'utf8')))
          out.add(svc);
      }
    }
  }
  return [...out].sort();
}

/**
 * Runs deploy/k8s/secrets.sh on a throwaway directory: `generate` (openssl), then `tamper` (the
 * self-test breaks files there), then `manifests`. Returns the spawn result of `manifests`.
 */
function runSecretsScript(tamper = () => {}) {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-validate-secrets-'));
  try {
    const keys = join(dir, 'keys');
    const gen = spawnSync('bash', [SECRETS_SH, 'generate', keys], { encoding: 'utf8' });
    if (gen.error) throw new SetupError(`cannot run bash: ${gen.error.message}`);
    if (gen.status !== 0)
      throw new SetupError(`deploy/k8s/secrets.sh generate failed (needs openssl): ${gen.stderr}`);
    tamper(keys);
    return spawnSync('bash', [SECRETS_SH, 'manifests', keys], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the cluster holds beside a rendering: the objects secrets.sh makes, from fresh values. */
function secretObjects(YAML) {
  const run = runSecretsScript();
  if (run.status !== 0) throw new Error(`deploy/k8s/secrets.sh manifests failed:\n${run.stderr}`);
  return parseStream(YAML, run.stdout, 'deploy/k8s/secrets.sh manifests');
}

/**
 * One rendering as the cluster would hold it, beside what secrets.sh makes from fresh values:
 * k8s-validate.test.mjs starts a real redis-server with the redis container's resolved args.
 */
export function renderCluster(deps, name) {
  kubectlAvailable();
  const [t] = targets([name]);
  return new Cluster([...parseStream(deps.YAML, render(t.dir), name), ...secretObjects(deps.YAML)]);
}

async function renderAll(deps, only = []) {
  kubectlAvailable();
  const out = [];
  for (const t of targets(only)) {
    out.push({ name: t.name, objects: parseStream(deps.YAML, render(t.dir), t.name) });
  }
  return out;
}

async function checkAll(renderings, ctx, kindConfig, partial = false) {
  const results = [];
  for (const r of renderings)
    results.push({ name: r.name, objects: r.objects, ...(await checkRendering(r.objects, ctx)) });
  const modes = checkModePairs(renderings, partial);
  const kind = checkKindPorts(renderings, kindConfig);
  return { results, cross: [...modes.violations, ...kind], pairs: modes.pairs };
}

/** --edges: what the NetworkPolicies of each rendering allow, inside and across the namespace. */
function printEdges(renderings, ctx) {
  for (const r of renderings) {
    const pol = new Policies(new Cluster([...r.objects, ...ctx.external]));
    const { edges, half } = pol.edges();
    console.log(`${r.name}:`);
    for (const e of [...edges, ...pol.external()].sort()) console.log(`  ${e}`);
    for (const h of half) console.log(`  one side only: ${h}`);
  }
}

function summary(objects) {
  const counts = new Map();
  for (const o of objects) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
}

async function main(argv) {
  const only = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--overlay') only.push(argv[++i]);
    else if (argv[i] !== '--self-test' && argv[i] !== '--edges')
      throw new SetupError(`unknown argument ${argv[i]}`);
  }
  const deps = await loadDeps();
  const ctx = await makeContext(deps);
  const kindConfig = deps.YAML.parse(readFileSync(KIND_CONFIG, 'utf8'));
  if (argv.includes('--self-test')) return selfTest(deps, ctx, kindConfig);

  const renderings = await renderAll(deps, only);
  if (argv.includes('--edges')) return printEdges(renderings, ctx);
  const { results, cross, pairs } = await checkAll(renderings, ctx, kindConfig, only.length > 0);
  let failures = 0;
  for (const r of results) {
    const status = r.violations.length ? 'FAIL' : 'ok  ';
    console.log(
      `${status} ${r.name.padEnd(10)} ${r.objects.length} objects (${summary(r.objects)})`,
    );
    for (const v of r.violations) console.log(`       [${v.rule}] ${v.where}: ${v.message}`);
    failures += r.violations.length;
  }
  const same = pairs.map(
    ([a, b]) => `${a} = ${b}${a.split('-').includes('xa') ? ' but TX_MODE' : ''}`,
  );
  const modeStatus = cross.some((v) => v.rule === 'mode-diff') ? 'FAIL' : 'ok  ';
  console.log(
    `${modeStatus} modes      ${same.join('; ') || '(no xa/saga pair among these renderings)'}`,
  );
  console.log(
    `${cross.some((v) => v.rule === 'kind-ports') ? 'FAIL' : 'ok  '} kind ports deploy/kind/cluster.yaml publishes every kind NodePort`,
  );
  for (const v of cross) console.log(`       [${v.rule}] ${v.where}: ${v.message}`);
  failures += cross.length;
  const checked = results.reduce((n, r) => n + r.objects.length, 0);
  if (failures) {
    console.error(`k8s-validate: ${failures} violation(s) in ${results.length} renderings`);
    process.exitCode = 1;
  } else {
    console.log(
      `k8s-validate: ${results.length} renderings, ${checked} objects: schemas (kubernetes-models), ` +
        'unknown fields, probes, limits, security, images, Services, env (lib/config.ts), secrets ' +
        `(${ctx.external.length} objects from deploy/k8s/secrets.sh) and who holds them, ` +
        'NetworkPolicies against EDGES, modes, kind ports: no violations',
    );
  }
}

// ------------------------------------------------------------------------------ self-test

/**
 * Renders the real overlays, proves they pass, then breaks one thing at a time in memory and
 * proves the rule that should catch it does (and that the unbroken copy still passes).
 */
async function selfTest(deps, ctx, kindConfig) {
  const renderings = await renderAll(deps);
  const clean = await checkAll(renderings, ctx, kindConfig);
  const failing = [...clean.results.flatMap((r) => r.violations), ...clean.cross];
  assert.deepEqual(
    failing,
    [],
    'the manifests as committed must pass before they are broken on purpose',
  );

  const base = renderings.find((r) => r.name === 'kind').objects;
  const find = (objects, kind, name) =>
    objects.find((o) => o.kind === kind && o.metadata.name.startsWith(name));
  const named = (objects, kind, name) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);
  const drop = (objects, kind, name) =>
    objects.splice(objects.indexOf(named(objects, kind, name)), 1);
  const container = (objects, name) =>
    find(objects, 'Deployment', name).spec.template.spec.containers[0];
  const envOf = (objects, name) => container(objects, name).env;
  const meshVolume = (objects, name) =>
    named(objects, 'Deployment', name).spec.template.spec.volumes.find((v) => v.name === 'mesh');
  const policy = (objects, name) => named(objects, 'NetworkPolicy', name).spec;
  const redisArgs = (objects) =>
    named(objects, 'Deployment', 'redis').spec.template.spec.containers[0].args;
  const gatewayRedisPassword = (objects) =>
    (envOf(objects, 'gateway').find(
      (x) => x.name === 'K8S_REDIS_PASSWORD',
    ).valueFrom.secretKeyRef.name = 'redis-password');
  const b64 = (s) => Buffer.from(s).toString('base64');
  const toPod = (name, port) => ({
    to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/instance': name } } }],
    ports: [{ protocol: 'TCP', port }],
  });
  const fromPod = (name) => ({
    podSelector: { matchLabels: { 'app.kubernetes.io/instance': name } },
  });
  // [rule, what, mutate(rendering, secrets.sh objects, EDGES), pattern the violation matches]
  const cases = [
    ['probes', 'no readiness probe', (o) => delete container(o, 'concert').readinessProbe],
    [
      'probes',
      'liveness probe on the wrong port',
      (o) => (container(o, 'point').livenessProbe.grpc.port = 1),
    ],
    [
      'probes',
      'gateway readiness not on /readyz',
      (o) => (container(o, 'gateway').readinessProbe.httpGet.path = '/healthz'),
    ],
    ['resources', 'no memory limit', (o) => delete container(o, 'queue').resources.limits.memory],
    [
      'security',
      'runs as root',
      (o) => (find(o, 'Deployment', 'payment').spec.template.spec.securityContext.runAsUser = 0),
    ],
    [
      'security',
      'privilege escalation',
      (o) => (container(o, 'gateway').securityContext.allowPrivilegeEscalation = true),
    ],
    ['image', 'another image', (o) => (container(o, 'coordinator').image = 'node:20')],
    [
      'image',
      'project image, wrong tag',
      (o) => (container(o, 'coordinator').image = 'boxoffice:latest'),
    ],
    [
      'image',
      'unpinned third-party image',
      (o) =>
        (find(o, 'StatefulSet', 'point-db').spec.template.spec.containers[0].image =
          'mariadb:latest'),
    ],
    [
      'service',
      'selector matches nothing',
      (o) => (find(o, 'Service', 'payment').spec.selector['app.kubernetes.io/name'] = 'payments'),
    ],
    [
      'service',
      'target port the pods lack',
      (o) => (find(o, 'Service', 'gateway').spec.ports[0].targetPort = 'web'),
    ],
    [
      'env-required',
      'database URL missing',
      (o) => {
        const e = envOf(o, 'concert');
        e.splice(
          e.findIndex((x) => x.name === 'CONCERT_DB_URL'),
          1,
        );
      },
    ],
    [
      'env-required',
      'target pointing at the wrong Service',
      (o) =>
        (find(o, 'ConfigMap', 'boxoffice-config').data.COORDINATOR_GRPC_TARGET =
          'coordinator-db:50056'),
    ],
    [
      'env-required',
      'gRPC server bound to loopback',
      (o) => (find(o, 'ConfigMap', 'boxoffice-config').data.GRPC_HOST = '127.0.0.1'),
    ],
    [
      'env-required',
      "database password differs from MariaDB's",
      (o) =>
        (envOf(o, 'reservation').find(
          (x) => x.name === 'K8S_DB_PASSWORD',
        ).valueFrom.secretKeyRef.name = 'point-db-password'),
    ],
    [
      'env',
      'unresolved $(VAR)',
      (o) =>
        (envOf(o, 'queue').find((x) => x.name === 'REDIS_URL').value =
          'redis://:$(NOPE)@redis:6379'),
    ],
    [
      'env',
      'typo in a variable name',
      (o) => envOf(o, 'gateway').push({ name: 'GATEWAY_PROT', value: '8080' }),
    ],
    [
      'env',
      'missing Secret key',
      (o) =>
        (envOf(o, 'gateway').find((x) => x.name === 'AUTH_JWT_SECRET').valueFrom.secretKeyRef.key =
          'NOPE'),
    ],
    [
      'secrets',
      'secret in the ConfigMap',
      (o) => (find(o, 'ConfigMap', 'boxoffice-config').data.AUTH_JWT_SECRET = 'x'.repeat(20)),
    ],
    [
      'secrets',
      'development default secret',
      (o, ext) =>
        (named(ext, 'Secret', 'gateway-secrets').data.AUTH_JWT_SECRET = b64(
          'boxoffice-dev-secret-change-me',
        )),
      /development default/,
    ],
    [
      'env-required',
      'MariaDB collation unlike lib/db.ts',
      (o) => {
        const a = find(o, 'StatefulSet', 'payment-db').spec.template.spec.containers[0].args;
        a[a.indexOf('--collation-server=utf8mb4_bin')] = '--collation-server=utf8mb4_general_ci';
      },
    ],
    [
      'probes',
      'consumer probe on a port it lacks',
      (o) => (container(o, 'dataplatform').livenessProbe.httpGet.port = 8080),
    ],
    [
      'migrations',
      'no migrate init container',
      (o) => delete find(o, 'Deployment', 'point').spec.template.spec.initContainers,
    ],
    [
      'processes',
      'a participant scaled out',
      (o) => (find(o, 'Deployment', 'reservation').spec.replicas = 2),
    ],
    [
      'processes',
      'a process without a Deployment',
      (o) => o.splice(o.indexOf(find(o, 'Deployment', 'dataplatform-mock')), 1),
    ],
    [
      'env',
      'service links on',
      (o) => (find(o, 'Deployment', 'gateway').spec.template.spec.enableServiceLinks = true),
    ],
    [
      'security',
      'service account token mounted',
      (o) =>
        delete find(o, 'StatefulSet', 'rabbitmq').spec.template.spec.automountServiceAccountToken,
    ],
    [
      'unknown-field',
      'misspelt field',
      (o) => {
        const c = container(o, 'concert');
        c.readinessprobe = c.readinessProbe;
      },
    ],
    [
      'unknown-field',
      'misspelt metadata field',
      (o) => (find(o, 'Service', 'point').metadata.annotation = { a: 'b' }),
    ],
    [
      'unknown-field',
      'misspelt probe field',
      (o) => (container(o, 'gateway').livenessProbe.httpGet.paht = '/x'),
    ],
    ['schema', 'wrong type', (o) => (find(o, 'Deployment', 'queue').spec.replicas = 'two')],
    [
      'labels',
      'missing recommended label',
      (o) => delete find(o, 'Service', 'redis').metadata.labels['app.kubernetes.io/component'],
    ],
    [
      'namespace',
      'wrong namespace',
      (o) => (find(o, 'Service', 'jaeger').metadata.namespace = 'default'),
    ],

    // Secrets: none rendered, no placeholder, each pod only what its row of SECRET_ACCESS says.
    [
      'secrets',
      'a Secret with values in a rendering',
      (o) =>
        o.push({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            ...structuredClone(find(o, 'ConfigMap', 'boxoffice-config').metadata),
            name: 'leak',
          },
          data: { AUTH_JWT_SECRET: b64('a-committed-value-0123456789') },
        }),
      /carries no Secret/,
    ],
    [
      'secrets',
      'a change-me placeholder',
      (o, ext) =>
        (named(ext, 'Secret', 'queue-secrets').data.QUEUE_TOKEN_SECRET = b64('change-me-queue')),
      /change-me/,
    ],
    [
      'secret-access',
      'the gateway given the queue token secret',
      (o) =>
        envOf(o, 'gateway').push({
          name: 'QUEUE_TOKEN_SECRET',
          valueFrom: { secretKeyRef: { name: 'queue-secrets', key: 'QUEUE_TOKEN_SECRET' } },
        }),
      /gateway: holds queue-secrets\/QUEUE_TOKEN_SECRET/,
    ],
    [
      'secret-access',
      "point mounting concert's private key",
      (o) => {
        const s = meshVolume(o, 'point').projected.sources[0].secret;
        s.name = 'mesh-key-concert';
        s.items = [{ key: 'concert.key', path: 'point.key' }];
      },
      /point: holds mesh-key-concert\/concert.key/,
    ],
    [
      'secret-access',
      'the gateway mounting the tx key',
      (o) =>
        meshVolume(o, 'gateway').projected.sources.push({
          secret: { name: 'mesh-tx-key', items: [{ key: 'tx.key', path: 'tx.key' }] },
        }),
      /the tx key is for coordinator/,
    ],
    [
      'secret-access',
      'a participant without the tx key',
      (o) => meshVolume(o, 'payment').projected.sources.pop(),
      /payment: lacks mesh-tx-key\/tx.key/,
    ],
    [
      'secret-access',
      'a migrate init container given the root password',
      (o) =>
        (find(o, 'Deployment', 'concert').spec.template.spec.initContainers[0].env.find(
          (x) => x.name === 'K8S_DB_PASSWORD',
        ).valueFrom.secretKeyRef.name = 'concert-db-root-password'),
      /concert: holds concert-db-root-password\/password/,
    ],
    [
      'secret-access',
      'MESH_SECRET set',
      (o) => envOf(o, 'queue').push({ name: 'MESH_SECRET', value: 'x'.repeat(32) }),
      /development fallback/,
    ],
    [
      'secret-access',
      "the operator's private key in a Secret",
      (o, ext) => (named(ext, 'Secret', 'mesh-key-gateway').data['operator.key'] = b64('k')),
      /operator's private key/,
    ],
    [
      'secret-access',
      'the key volume writable',
      (o) =>
        (container(o, 'coordinator').volumeMounts.find((m) => m.name === 'mesh').readOnly = false),
      /read-only projected volume/,
    ],
    [
      'secret-access',
      'MESH_KEYS_DIR elsewhere',
      (o) => (envOf(o, 'dataplatform').find((x) => x.name === 'MESH_KEYS_DIR').value = '/keys'),
      /MESH_KEYS_DIR must be/,
    ],
    [
      'secret-access',
      'a Secret no pod uses',
      (o, ext) => {
        const s = structuredClone(named(ext, 'Secret', 'redis-password'));
        s.metadata.name = 'spare-password';
        ext.push(s);
      },
      /spare-password: no pod uses it/,
    ],

    // NetworkPolicies: default deny, exactly the edges of EDGES, exactly the outside they need.
    ['netpol-deny', 'no default deny', (o) => drop(o, 'NetworkPolicy', 'default-deny')],
    [
      'netpol-select',
      'a pod no policy names',
      (o) => drop(o, 'NetworkPolicy', 'redis'),
      /Deployment\/redis/,
    ],
    [
      'netpol-edges',
      'a missing edge (reservation cannot reach the coordinator)',
      (o) => {
        const from = policy(o, 'coordinator').ingress[0].from;
        from.splice(
          from.findIndex(
            (p) => p.podSelector.matchLabels['app.kubernetes.io/name'] === 'reservation',
          ),
          1,
        );
      },
      /reservation → coordinator:50056\/TCP: in EDGES, but the policies do not allow it/,
    ],
    [
      'netpol-edges',
      'an extra edge (gateway → payment, both sides)',
      (o) => {
        policy(o, 'gateway').egress.push(toPod('payment', 50054));
        policy(o, 'payment').ingress[0].from.push(fromPod('gateway'));
      },
      /gateway → payment:50054\/TCP: allowed by the policies, but not in EDGES/,
    ],
    [
      'netpol-edges',
      'an edge allowed by one side only',
      (o) => policy(o, 'queue').egress.push(toPod('concert-db', 3306)),
      /one side only: queue → concert-db:3306/,
    ],
    [
      'netpol-edges',
      'a database reachable from another service',
      (o) => {
        policy(o, 'point').egress.push(toPod('payment-db', 3306));
        policy(o, 'payment-db').ingress[0].from.push(fromPod('point'));
      },
      /point → payment-db:3306\/TCP: allowed by the policies, but not in EDGES/,
    ],
    [
      'netpol-edges',
      "the auditor cut off from a database it reads (ops → point-db, the database's side)",
      (o) => {
        const from = policy(o, 'point-db').ingress[0].from;
        from.splice(
          from.findIndex((p) => p.podSelector.matchLabels['app.kubernetes.io/name'] === 'ops'),
          1,
        );
      },
      /one side only: ops → point-db:3306/,
    ],
    [
      'env-required',
      'the ops service without the URL of a database it reads',
      (o) => {
        const env = container(o, 'ops').env;
        env.splice(
          env.findIndex((e) => e.name === 'PAYMENT_DB_URL'),
          1,
        );
      },
      /ops.*PAYMENT_DB_URL is not set/,
    ],
    [
      'netpol-rules',
      'a rule without ports',
      (o) => delete policy(o, 'rabbitmq').ingress[0].ports,
      /names no ports/,
    ],
    [
      'netpol-external',
      'no DNS',
      (o) => drop(o, 'NetworkPolicy', 'dns'),
      /jaeger → ns\{kubernetes.io\/metadata.name=kube-system\} pods\{k8s-app=kube-dns\}:53\/UDP: the policies do not allow it/,
    ],
    [
      'netpol-external',
      'the Jaeger UI open where nothing exposes it',
      (o) => {
        const svc = named(o, 'Service', 'jaeger-ui').spec;
        svc.type = 'ClusterIP';
        delete svc.ports[0].nodePort;
      },
      /any → jaeger:16686\/TCP: allowed by the policies, but nothing needs it/,
    ],
    [
      'netpol-external',
      'egress to anywhere',
      (o) => policy(o, 'dataplatform').egress.push({ ports: [{ protocol: 'TCP', port: 443 }] }),
      /dataplatform → any:443\/TCP/,
    ],
    [
      'netpol-external',
      'metrics open to every namespace',
      (o) => (policy(o, 'metrics-scrape').ingress[0].from[0].namespaceSelector = {}),
      /ns\{\} → gateway:9464/,
    ],
    [
      'netpol-table',
      "a process whose environment names another service's database",
      (o) =>
        (envOf(o, 'concert').find((x) => x.name === 'CONCERT_DB_URL').value =
          'mysql://boxoffice:$(K8S_DB_PASSWORD)@point-db:3306'),
      /concert: its environment connects to point-db:3306; EDGES has no such row/,
    ],
    [
      'netpol-table',
      'a process with no Jaeger edge while tracing is on',
      (o, ext, edges) =>
        edges.splice(
          edges.findIndex(([f, to]) => f === 'queue' && to === 'jaeger'),
          1,
        ),
      /queue: its environment connects to jaeger:4318/,
    ],

    // Redis: the gateway logs in as its own user, which may only subscribe to the ended tokens.
    [
      'env-required',
      "the gateway's REDIS_URL with Redis's default password",
      gatewayRedisPassword,
      /REDIS_URL password must be the one Redis's ACL gives user gateway/,
    ],
    [
      'secret-access',
      "the gateway holding Redis's default password",
      gatewayRedisPassword,
      /gateway: holds redis-password\/password/,
    ],
    [
      'env-required',
      "the gateway's REDIS_URL as the default user",
      (o) =>
        (envOf(o, 'gateway').find((x) => x.name === 'REDIS_URL').value =
          'redis://:$(K8S_REDIS_PASSWORD)@redis:6379'),
      /must log in as Redis user gateway, logs in as default/,
    ],
    [
      'redis-acl',
      "the gateway's ACL granting every key",
      (o) => redisArgs(o).push('~*'),
      /user gateway: grants keys ~\*/,
    ],
    [
      'redis-acl',
      "the gateway's ACL granting every command",
      (o) => redisArgs(o).push('+@all'),
      /user gateway: grants commands @all/,
    ],
    [
      'redis-acl',
      "the gateway's ACL granting another channel",
      (o) => redisArgs(o).push('&boxoffice:queue:*'),
      /user gateway: grants channels boxoffice:queue:\*/,
    ],
    [
      'redis-acl',
      "the gateway's ACL without resetchannels (acl-pubsub-default decides)",
      (o) => redisArgs(o).splice(redisArgs(o).indexOf('resetchannels'), 1),
      /user gateway: grants channels \*/,
    ],
    [
      'redis-acl',
      'REDIS_KEY_PREFIX changed, the ACL not',
      (o) => (find(o, 'ConfigMap', 'boxoffice-config').data.REDIS_KEY_PREFIX = 'tickets:'),
      /user gateway: lacks channels tickets:queue:ended/,
    ],
    [
      'env-required',
      'the queue and the gateway on different REDIS_KEY_PREFIX',
      (o) => envOf(o, 'gateway').push({ name: 'REDIS_KEY_PREFIX', value: 'tickets:' }),
      /processes disagree on REDIS_KEY_PREFIX/,
    ],
    [
      'env',
      'an ACL password naming no variable',
      (o) => {
        const a = redisArgs(o);
        a[a.indexOf('>$(REDIS_GATEWAY_PASSWORD)')] = '>$(REDIS_GATEWAY_PASSWD)';
      },
      /args: \$\(REDIS_GATEWAY_PASSWD\) is not defined/,
    ],
    [
      'redis-acl',
      'a Redis user no process logs in as',
      (o) => redisArgs(o).push('--user', 'spare', 'on', '>$(REDIS_PASSWORD)', '+@all'),
      /user spare: no process logs in as it/,
    ],
    [
      'netpol-table',
      'no EDGES row gateway → redis',
      (o, ext, edges) =>
        edges.splice(
          edges.findIndex(([f, to]) => f === 'gateway' && to === 'redis'),
          1,
        ),
      /gateway: its environment connects to redis:6379; EDGES has no such row/,
    ],
    [
      'netpol-edges',
      "Redis's policy not admitting the gateway",
      (o) => {
        const from = policy(o, 'redis').ingress[0].from;
        from.splice(
          from.findIndex((p) => p.podSelector.matchLabels['app.kubernetes.io/name'] === 'gateway'),
          1,
        );
      },
      /gateway → redis:6379\/TCP: in EDGES, but the policies do not allow it/,
    ],
  ];
  let n = 0;
  for (const [rule, what, mutate, pattern] of cases) {
    const broken = structuredClone(base);
    const ext = structuredClone(ctx.external);
    const edges = structuredClone(ctx.edges);
    mutate(broken, ext, edges);
    const { violations } = await checkRendering(broken, { ...ctx, edges }, ext);
    const hit = violations.find(
      (v) => v.rule === rule && (!pattern || pattern.test(`${v.where}: ${v.message}`)),
    );
    assert.ok(
      hit,
      `"${what}" should fail rule ${rule}${pattern ? ` matching ${pattern}` : ''}; got ${JSON.stringify(violations, null, 1)}`,
    );
    console.log(`ok   self-test: ${what} -> [${rule}] ${hit.where}: ${hit.message}`);
    n++;
  }

  // deploy/k8s/secrets.sh refuses an incomplete or malformed directory (nothing half-printed).
  for (const [what, tamper, pattern] of [
    ['a missing key file', (dir) => rmSync(join(dir, 'gateway.key')), /lacks gateway.key/],
    [
      'a password unfit for a URL',
      (dir) => writeFileSync(join(dir, 'redis.password'), 'pass@word-0123456789'),
      /redis.password must be/,
    ],
    [
      'a tx key that is not 32 bytes',
      (dir) => writeFileSync(join(dir, 'tx.key'), Buffer.alloc(16, 7).toString('base64')),
      /tx.key must be 32 bytes/,
    ],
  ]) {
    const run = runSecretsScript(tamper);
    assert.ok(
      run.status !== 0 && pattern.test(run.stderr) && run.stdout === '',
      `secrets.sh must refuse ${what}: ${run.stderr}`,
    );
    console.log(`ok   self-test: secrets.sh refuses ${what}: ${run.stderr.trim()}`);
    n++;
  }

  // Across renderings: a mode overlay that changes more than TX_MODE, a NodePort kind lacks.
  const xaBroken = renderings.map((r) => ({ name: r.name, objects: structuredClone(r.objects) }));
  find(xaBroken.find((r) => r.name === 'xa').objects, 'Deployment', 'gateway').spec.replicas = 3;
  const modes = checkModePairs(xaBroken);
  assert.ok(
    modes.violations.some((v) => v.rule === 'mode-diff'),
    'an xa overlay changing replicas must fail mode-diff',
  );
  console.log(
    `ok   self-test: xa overlay changes replicas -> [mode-diff] ${modes.violations[0].message}`,
  );
  const kindBroken = structuredClone(kindConfig);
  kindBroken.nodes[0].extraPortMappings.pop();
  const ports = checkKindPorts(renderings, kindBroken);
  assert.ok(
    ports.some((v) => v.rule === 'kind-ports'),
    'an unmapped NodePort must fail kind-ports',
  );
  console.log(
    `ok   self-test: NodePort without a host mapping -> [kind-ports] ${ports[0].message}`,
  );
  n += 2;

  // And a broken kustomization fails to render at all.
  assert.throws(() => render(join(K8S_DIR, 'no-such-overlay')), /kubectl kustomize .* failed/);
  console.log('ok   self-test: a kustomization that does not build -> render error');
  console.log(`k8s-validate --self-test: ${n + 1} broken manifests, each caught by its rule`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main(process.argv.slice(2));
  } catch (err) {
    if (err instanceof SetupError || err instanceof assert.AssertionError) {
      console.error(`k8s-validate: ${err.message}`);
    } else {
      console.error(err);
    }
    process.exitCode = 1;
  }
}
