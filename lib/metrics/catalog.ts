// Every metric the mesh exports besides Node's defaults, in one place. Components register the
// ones they own through Metrics (registry.ts); label values must stay bounded (route templates,
// RPC names, status codes — never ids or raw paths).
import type { HistogramDef, MetricDef } from './registry';

/** Seconds; from a cached read to a slow global transaction. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Recorded by GrpcServer around every handler (lib/grpc/server.ts). */
export const GRPC_SERVER_DURATION: HistogramDef<'service' | 'method' | 'code'> = {
  name: 'grpc_server_duration_seconds',
  help: 'Unary gRPC calls handled, by mesh service, RPC name and gRPC status code (health checks and reflection excluded)',
  labelNames: ['service', 'method', 'code'],
  buckets: LATENCY_BUCKETS,
};

/** Recorded by the gateway for every HTTP request (gateway/http.ts). */
export const HTTP_SERVER_DURATION: HistogramDef<'method' | 'route' | 'code'> = {
  name: 'http_server_duration_seconds',
  help: 'HTTP requests the gateway answered, by method, route template (or the gateway endpoint, or "unmatched") and status code',
  labelNames: ['method', 'route', 'code'],
  buckets: LATENCY_BUCKETS,
};

/** Read on scrape from each participant's outbox (lib/events/relay.ts). */
export const OUTBOX_UNSENT: MetricDef<'service'> = {
  name: 'outbox_unsent_events',
  help: 'Outbox rows not yet published to the broker, by service',
  labelNames: ['service'],
};

export const OUTBOX_LAG: MetricDef<'service'> = {
  name: 'outbox_lag_seconds',
  help: 'Age of the oldest unpublished outbox row (0 when none), by service',
  labelNames: ['service'],
};

/** Read on scrape from each consumer's parked queue (lib/events/consumer.ts). */
export const DLQ_PARKED: MetricDef<'queue'> = {
  name: 'dlq_parked_messages',
  help: 'Messages parked after their last retry, by consumer queue (see cmd/dlq.ts)',
  labelNames: ['queue'],
};

/** Read on scrape from the waiting room (services/queue). */
export const WAITING_ROOM_WAITING: MetricDef<never> = {
  name: 'waiting_room_waiting',
  help: 'Queue tokens waiting in line',
  labelNames: [],
};

export const WAITING_ROOM_ACTIVE: MetricDef<never> = {
  name: 'waiting_room_active',
  help: 'Active queue tokens (admitted, not expired or ended)',
  labelNames: [],
};

/** Counted by the coordinator (see tx.ts). */
export const TX_TOTAL: MetricDef<'flow' | 'mode' | 'outcome'> = {
  name: 'tx_total',
  help: 'Global transactions finished, by flow, mode (saga|xa) and outcome',
  labelNames: ['flow', 'mode', 'outcome'],
};

export const TX_GUARD_REFUSALS: MetricDef<'flow' | 'reason'> = {
  name: 'tx_guard_refusals_total',
  help: "Requests a flow's guard refused before any transaction began, by flow and reason",
  labelNames: ['flow', 'reason'],
};

export const TX_BRANCH_RETRIES: MetricDef<'flow' | 'participant' | 'action'> = {
  name: 'tx_branch_retries_total',
  help: 'Branch calls retried by the coordinator, by flow, participant and branch action',
  labelNames: ['flow', 'participant', 'action'],
};

export const TX_COMPENSATIONS: MetricDef<'flow' | 'step'> = {
  name: 'tx_compensations_total',
  help: 'Saga steps compensated, by flow and step',
  labelNames: ['flow', 'step'],
};

export const TX_PARKED: MetricDef<'flow' | 'state'> = {
  name: 'tx_parked_total',
  help: 'Global transactions parked for an operator after recovery kept failing, by flow and the state they were stuck in',
  labelNames: ['flow', 'state'],
};

export const TX_RECOVERY_ACTIONS: MetricDef<'state' | 'action'> = {
  name: 'tx_recovery_actions_total',
  help: 'Actions recovery took on unfinished global transactions, by the state it found and the action',
  labelNames: ['state', 'action'],
};
