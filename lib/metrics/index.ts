// Prometheus metrics: the process registry, the catalog of series, the /metrics endpoint and
// the coordinator's transaction counters.
export * from './catalog';
export { coalesce, Metrics, type HistogramDef, type MetricDef, type Sample } from './registry';
export { METRICS_PATH, serveMetrics, startMetrics, type MetricsServer } from './server';
export { createTxMetrics, type LabelledCounter, type TxMetrics } from './tx';
