// The whole mesh's configuration, read from the environment once at start-up and validated.
// Nothing else reads process.env.
import type { Transport } from './grpc/client';
import { hostname } from 'node:os';
import { parseFailpoints } from './failpoints';
import { TX_MODES, type TxMode } from './txMode';

export const SERVICE_NAMES = [
  'queue',
  'concert',
  'reservation',
  'payment',
  'point',
  'coordinator',
  'ops',
  'dataplatform',
  'dataplatform-mock',
  'gateway',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
/** The services that own a MySQL database. */
export const DB_SERVICES = [
  'concert',
  'reservation',
  'payment',
  'point',
  'coordinator',
  'dataplatform',
] as const;
export type DbServiceName = (typeof DB_SERVICES)[number];
export type GrpcServiceName = Exclude<
  ServiceName,
  'gateway' | 'dataplatform' | 'dataplatform-mock'
>;
export const GRPC_SERVICES: readonly GrpcServiceName[] = [
  'queue',
  'concert',
  'reservation',
  'payment',
  'point',
  'coordinator',
  'ops',
];

export const DEV_JWT_SECRET = 'boxoffice-dev-secret-change-me';
const DEV_MESH_SECRET = 'boxoffice-dev-mesh-secret';
const DEV_QUEUE_SECRET = 'boxoffice-dev-queue-secret';

/** Where the bundled data-platform mock listens when DATAPLATFORM_URL is not set. */
export const DEFAULT_DATAPLATFORM_URL = 'http://127.0.0.1:8090/events';
/** DATAPLATFORM_MOCK: whether SERVICES=all includes the bundled mock (auto: for the default URL). */
const DATAPLATFORM_MOCK_MODES = ['auto', 'on', 'off'] as const;

const DEFAULT_PORTS: Record<GrpcServiceName, number> = {
  queue: 50051,
  concert: 50052,
  reservation: 50053,
  payment: 50054,
  point: 50055,
  coordinator: 50056,
  ops: 50057,
};

export interface DbConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  poolSize: number;
}

export interface Config {
  nodeEnv: string;
  logLevel: string;
  /** Which services this entry point hosts (SERVICES; all: see allServices). */
  services: ServiceName[];
  /** Interface the gRPC servers listen on. */
  grpcHost: string;
  grpcPorts: Record<GrpcServiceName, number>;
  /** Where clients reach each gRPC service. */
  grpcTargets: Record<GrpcServiceName, string>;
  /** Default deadline of an internal gRPC call. */
  grpcDeadlineMs: number;
  /**
   * Where the mesh's keys are (MESH_KEYS_DIR: <identity>.key/.pub, tx.key; docs/trust.md);
   * unset: development keys derived from meshSecret.
   */
  meshKeysDir: string | undefined;
  /** MESH_SECRET: the development fallback for the mesh's keys, refused in production. */
  meshSecret: string;
  jwtSecret: string;
  gateway: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    /** How the routes' calls to the coordinator travel: on one stream, or each a unary call. */
    coordinatorTransport: Transport;
  };
  /** Interface and port of the process's Prometheus endpoint, GET /metrics (port 0: any free). */
  metricsHost: string;
  metricsPort: number;
  /**
   * With SERVICES=all, how many processes host the mesh: 1, or 2 (the front here, the
   * participants and the data platform in a second process: cmd/meshProcesses.ts).
   */
  meshProcesses: number;
  db: Record<DbServiceName, DbConfig> & { migrateOnStart: boolean };
  redis: { url: string; keyPrefix: string };
  amqpUrl: string;
  events: {
    /** The topic exchange events go to; the routing key is the event type. */
    exchange: string;
    relayPollMs: number;
    /** How long a woken relay waits for more commits before it publishes one batch. */
    relayLingerMs: number;
    relayBatch: number;
    /** Delays of a failing consumer's retries; one more failure parks the message. */
    retryDelaysMs: number[];
    prefetch: number;
    /** How often a participant releases the held events of saga transactions that ended. */
    holdPollMs: number;
  };
  txMode: TxMode;
  coordinator: {
    /** Identifies this coordinator instance in the log; stable across its restarts. */
    id: string;
    /** Time to live of a global transaction: then XA aborts and a saga compensates. */
    txTtlMs: number;
    branchDeadlineMs: number;
    /** How long a request retries phase 2 or compensations before leaving them to recovery. */
    inlineFinishMs: number;
    recoveryIntervalMs: number;
    /** Recovery's delay after a failed attempt, doubling per attempt up to retryMaxMs. */
    retryBaseMs: number;
    retryMaxMs: number;
    /** After this many failed recovery attempts a transaction is parked (STUCK). */
    parkAfterAttempts: number;
    /** How long after its transaction ended a participant keeps a barrier row. */
    barrierRetentionMs: number;
    /** How branch and phase-2 calls travel: all on one stream per participant, or unary. */
    branchTransport: Transport;
  };
  xa: {
    /** innodb_lock_wait_timeout of branch connections: a contended row refuses fast. */
    lockWaitTimeoutSeconds: number;
    /** How long a participant keeps a prepared branch's connection waiting for phase 2. */
    holdTimeoutMs: number;
    /** How often a participant looks for its own branches left prepared (XA RECOVER). */
    resolverIntervalMs: number;
    /** A branch must stay prepared this long before the resolver asks the coordinator. */
    resolverSafetyMs: number;
    poolSize: number;
  };
  reservationHoldSeconds: number;
  /** How often the reservation service looks for overdue holds to expire. */
  reservationSweepIntervalMs: number;
  queue: {
    maxActive: number;
    admitIntervalMs: number;
    activeTtlSeconds: number;
    idleTimeoutSeconds: number;
    tokenSecret: string;
  };
  dataplatformUrl: string;
  /** Interface the bundled data-platform mock listens on (0.0.0.0 in containers). */
  dataplatformMockHost: string;
  seed: 'demo' | '';
  telemetry: {
    /** OTEL_TRACES_EXPORTER: otlp (Jaeger >= 1.35 ingests it), jaeger, or none. */
    exporter: 'otlp' | 'jaeger' | 'none';
    /** OTEL_SERVICE_NAME; by default named after the services this process hosts. */
    serviceName: string;
  };
  /** Crash points armed for fault tests (lib/failpoints.ts); empty otherwise. */
  failpoints: string[];
  /** JAEGER_UI_URL: where the operator console links a transaction's trace; empty: no link. */
  jaegerUiUrl: string;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim()))
    throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}`);
  return n;
}

function intList(env: Env, name: string, fallback: number[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) {
    throw new ConfigError(
      `${name} must be a comma-separated list of positive integers, got "${raw}"`,
    );
  }
  return parts.map(Number);
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes)$/i.test(raw)) return true;
  if (/^(0|false|no)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const v = str(env, name, fallback);
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${v}"`);
  }
  return v as T;
}

function defaultServiceName(services: string): string {
  return services === 'all'
    ? 'boxoffice'
    : `boxoffice-${services
        .split(',')
        .map((s) => s.trim())
        .join('+')}`;
}

/**
 * What SERVICES=all hosts. The bundled data-platform mock listens on the port of
 * DATAPLATFORM_URL, so it comes along only for the default URL: a URL set to a real data platform
 * on this machine must not have the mock take (or fail to take) that platform's port.
 * DATAPLATFORM_MOCK=on (or off) decides instead; a SERVICES list that names the mock starts it.
 */
function allServices(env: Env, dataplatformUrl: string): ServiceName[] {
  const mock = oneOf(env, 'DATAPLATFORM_MOCK', DATAPLATFORM_MOCK_MODES, 'auto');
  const withMock =
    mock === 'on' || (mock === 'auto' && dataplatformUrl === DEFAULT_DATAPLATFORM_URL);
  return SERVICE_NAMES.filter((n) => withMock || n !== 'dataplatform-mock');
}

function parseServices(raw: string, all: ServiceName[]): ServiceName[] {
  if (raw === 'all') return all;
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(SERVICE_NAMES as readonly string[]).includes(n)) {
      throw new ConfigError(
        `SERVICES: unknown service "${n}" (known: ${SERVICE_NAMES.join(', ')}, or all)`,
      );
    }
  }
  if (names.length === 0) throw new ConfigError('SERVICES must name at least one service');
  return names as ServiceName[];
}

/** mysql://user:password@host:port — the server every service database lives on by default. */
function parseDbUrl(name: string, raw: string): Omit<DbConfig, 'database' | 'poolSize'> {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL: "${raw}"`);
  }
  if (u.protocol !== 'mysql:') throw new ConfigError(`${name} must start with mysql://`);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
  };
}

const KNOWN_DEFAULTS = new Set([DEV_JWT_SECRET, DEV_MESH_SECRET, DEV_QUEUE_SECRET]);
const MIN_SECRET_BYTES = 32;

/**
 * In production, the secrets a process that hosts `config.services` relies on must be real:
 * its keys from MESH_KEYS_DIR (never derived from MESH_SECRET), and for the gateway and the queue
 * their own secret, none a known default, a placeholder or shorter than 32 bytes. Checked where a
 * process starts (cmd/mesh.ts), for what it hosts only: a pod is given no more than it needs.
 */
export function assertProductionSecrets(config: Config): void {
  if (config.nodeEnv !== 'production') return;
  const hosts = (s: ServiceName) => config.services.includes(s);
  if (config.services.some((s) => s !== 'dataplatform-mock') && !config.meshKeysDir)
    throw new ConfigError(
      'MESH_KEYS_DIR must be set when NODE_ENV=production: keys derived from MESH_SECRET are for development only',
    );
  if (hosts('gateway')) strongSecret('AUTH_JWT_SECRET', config.jwtSecret);
  if (hosts('queue')) strongSecret('QUEUE_TOKEN_SECRET', config.queue.tokenSecret);
}

function strongSecret(name: string, value: string): void {
  if (KNOWN_DEFAULTS.has(value) || /change-?me/i.test(value))
    throw new ConfigError(
      `${name} is a development default or a placeholder (NODE_ENV=production)`,
    );
  if (Buffer.byteLength(value) < MIN_SECRET_BYTES)
    throw new ConfigError(
      `${name} must be at least ${MIN_SECRET_BYTES} bytes (NODE_ENV=production)`,
    );
}

/** An optional http(s) URL without its trailing slash; empty when unset. */
function httpUrl(env: Env, name: string): string {
  const raw = str(env, name, '');
  if (raw === '') return '';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL: "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

/** FAILPOINTS entries, checked now so a typo fails the start, not the test that relies on it. */
function failpointSpecs(raw: string): string[] {
  const specs = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    parseFailpoints(specs);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return specs;
}

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = str(env, 'NODE_ENV', 'development');
  const jwtSecret = str(env, 'AUTH_JWT_SECRET', DEV_JWT_SECRET);
  const meshSecret = str(env, 'MESH_SECRET', DEV_MESH_SECRET);
  const tokenSecret = str(env, 'QUEUE_TOKEN_SECRET', DEV_QUEUE_SECRET);
  if (jwtSecret.length < 16)
    throw new ConfigError('AUTH_JWT_SECRET must be at least 16 characters');

  const grpcPorts = {} as Record<GrpcServiceName, number>;
  const grpcTargets = {} as Record<GrpcServiceName, string>;
  for (const svc of GRPC_SERVICES) {
    const key = svc.toUpperCase();
    grpcPorts[svc] = int(env, `${key}_GRPC_PORT`, DEFAULT_PORTS[svc], 0, 65535);
    grpcTargets[svc] = str(env, `${key}_GRPC_TARGET`, `127.0.0.1:${grpcPorts[svc]}`);
  }

  const server = parseDbUrl('DB_URL', str(env, 'DB_URL', 'mysql://root@127.0.0.1:3306'));
  const dbPrefix = str(env, 'DB_NAME_PREFIX', '');
  if (!/^[A-Za-z0-9_]*$/.test(dbPrefix))
    throw new ConfigError('DB_NAME_PREFIX may hold only letters, digits and _');
  const poolSize = int(env, 'DB_POOL_SIZE', 10, 1, 500);
  const db = { migrateOnStart: bool(env, 'DB_MIGRATE_ON_START', true) } as Config['db'];
  for (const svc of DB_SERVICES) {
    const key = svc.toUpperCase();
    const own = env[`${key}_DB_URL`];
    db[svc] = {
      ...(own ? parseDbUrl(`${key}_DB_URL`, own) : server),
      database: `${dbPrefix}${svc}`,
      poolSize: int(env, `${key}_DB_POOL_SIZE`, poolSize, 1, 500),
    };
  }

  const gatewayPort = int(env, 'GATEWAY_PORT', 8080, 0, 65535);
  const dataplatformUrl = str(env, 'DATAPLATFORM_URL', DEFAULT_DATAPLATFORM_URL);
  return {
    nodeEnv,
    logLevel: str(env, 'LOG_LEVEL', 'info'),
    services: parseServices(str(env, 'SERVICES', 'all'), allServices(env, dataplatformUrl)),
    grpcHost: str(env, 'GRPC_HOST', '127.0.0.1'),
    grpcPorts,
    grpcTargets,
    grpcDeadlineMs: int(env, 'GRPC_DEADLINE_MS', 5000, 10, 600000),
    meshKeysDir: env.MESH_KEYS_DIR === '' ? undefined : env.MESH_KEYS_DIR,
    meshSecret,
    jwtSecret,
    gateway: {
      host: str(env, 'GATEWAY_HOST', '127.0.0.1'),
      port: gatewayPort,
      bodyLimitBytes: 64 * 1024,
      coordinatorTransport: oneOf(
        env,
        'GATEWAY_COORDINATOR_TRANSPORT',
        ['mux', 'unary'] as const,
        'mux',
      ),
    },
    metricsHost: str(env, 'METRICS_HOST', '127.0.0.1'),
    metricsPort: int(env, 'METRICS_PORT', 9464, 0, 65535),
    meshProcesses: str(env, 'SERVICES', 'all') === 'all' ? int(env, 'MESH_PROCESSES', 1, 1, 2) : 1,
    db,
    redis: {
      url: str(env, 'REDIS_URL', 'redis://127.0.0.1:6379'),
      keyPrefix: str(env, 'REDIS_KEY_PREFIX', 'boxoffice:'),
    },
    amqpUrl: str(env, 'AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672'),
    events: {
      exchange: str(env, 'EVENTS_EXCHANGE', 'boxoffice.events'),
      relayPollMs: int(env, 'EVENTS_RELAY_POLL_MS', 500, 10, 60_000),
      relayLingerMs: int(env, 'EVENTS_RELAY_LINGER_MS', 10, 0, 1000),
      relayBatch: int(env, 'EVENTS_RELAY_BATCH', 100, 1, 10_000),
      retryDelaysMs: intList(env, 'EVENTS_RETRY_DELAYS_MS', [1000, 5000, 30_000, 120_000]),
      prefetch: int(env, 'EVENTS_PREFETCH', 16, 1, 1000),
      holdPollMs: int(env, 'EVENTS_HOLD_POLL_MS', 200, 10, 60_000),
    },
    txMode: oneOf(env, 'TX_MODE', TX_MODES, 'saga'),
    coordinator: {
      id: str(env, 'COORDINATOR_ID', `${hostname()}:${grpcPorts.coordinator}`),
      txTtlMs: int(env, 'TX_TTL_MS', 30_000, 100, 3_600_000),
      branchDeadlineMs: int(env, 'TX_BRANCH_DEADLINE_MS', 3000, 10, 600_000),
      inlineFinishMs: int(env, 'TX_INLINE_FINISH_MS', 5000, 0, 600_000),
      recoveryIntervalMs: int(env, 'TX_RECOVERY_INTERVAL_MS', 1000, 10, 3_600_000),
      retryBaseMs: int(env, 'TX_RETRY_BASE_MS', 2000, 10, 3_600_000),
      retryMaxMs: int(env, 'TX_RETRY_MAX_MS', 60_000, 10, 86_400_000),
      parkAfterAttempts: int(env, 'TX_PARK_AFTER_ATTEMPTS', 10, 1, 1_000_000),
      barrierRetentionMs: int(env, 'TX_BARRIER_RETENTION_MS', 600_000, 10_000, 31_536_000_000),
      branchTransport: oneOf(env, 'TX_BRANCH_TRANSPORT', ['mux', 'unary'] as const, 'mux'),
    },
    xa: {
      lockWaitTimeoutSeconds: int(env, 'XA_LOCK_WAIT_TIMEOUT_SECONDS', 1, 1, 3600),
      holdTimeoutMs: int(env, 'XA_HOLD_TIMEOUT_MS', 30_000, 100, 3_600_000),
      resolverIntervalMs: int(env, 'XA_RESOLVER_INTERVAL_MS', 2000, 50, 3_600_000),
      resolverSafetyMs: int(env, 'XA_RESOLVER_SAFETY_MS', 5000, 0, 3_600_000),
      poolSize: int(env, 'XA_POOL_SIZE', 20, 1, 500),
    },
    reservationHoldSeconds: int(env, 'RESERVATION_HOLD_SECONDS', 300, 1, 86400),
    reservationSweepIntervalMs: int(env, 'RESERVATION_SWEEP_INTERVAL_MS', 1000, 50, 3_600_000),
    queue: {
      maxActive: int(env, 'QUEUE_MAX_ACTIVE', 1000, 1, 1_000_000),
      admitIntervalMs: int(env, 'QUEUE_ADMIT_INTERVAL_MS', 1000, 10, 3_600_000),
      activeTtlSeconds: int(env, 'QUEUE_ACTIVE_TTL_SECONDS', 600, 1, 86400),
      idleTimeoutSeconds: int(env, 'QUEUE_IDLE_TIMEOUT_SECONDS', 300, 1, 86400),
      tokenSecret,
    },
    dataplatformUrl,
    dataplatformMockHost: str(env, 'DATAPLATFORM_MOCK_HOST', '127.0.0.1'),
    seed: oneOf(env, 'SEED', ['demo', ''] as const, ''),
    telemetry: {
      exporter: oneOf(env, 'OTEL_TRACES_EXPORTER', ['otlp', 'jaeger', 'none'] as const, 'none'),
      serviceName: str(env, 'OTEL_SERVICE_NAME', defaultServiceName(str(env, 'SERVICES', 'all'))),
    },
    failpoints: failpointSpecs(str(env, 'FAILPOINTS', '')),
    jaegerUiUrl: httpUrl(env, 'JAEGER_UI_URL'),
  };
}
