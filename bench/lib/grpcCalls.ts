// gRPC calls a mesh process has handled, from its Prometheus text (lib/metrics/catalog.ts's
// grpc_server_duration_seconds, recorded by every gRPC server around each of its own methods).
const COUNT = 'grpc_server_duration_seconds_count';

/** The sum of the histogram's _count over every service, method and status code. */
export function grpcCallCount(metrics: string): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${COUNT}{`) || line.startsWith(`${COUNT} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
