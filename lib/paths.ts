// Where the proto sources live at run time, whether running from dist/ or from source (tsx).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRepoRoot(from: string): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'proto', 'boxoffice'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find proto/boxoffice above ${from}`);
    dir = up;
  }
}

export const REPO_ROOT = findRepoRoot(__dirname);
export const PROTO_DIR = join(REPO_ROOT, 'proto');
export const GOOGLE_PROTO_DIR = dirname(require.resolve('google-proto-files/package.json'));
export const PROTO_INCLUDE_DIRS = [PROTO_DIR, GOOGLE_PROTO_DIR];

/** The protos of reflection's own services (v1 and v1alpha), as @grpc/reflection ships them. */
export const REFLECTION_PROTO_DIR = join(
  dirname(require.resolve('@grpc/reflection/package.json')),
  'build',
  'proto',
  'grpc',
  'reflection',
);
export const REFLECTION_PROTO_FILES = ['v1', 'v1alpha'].map((version) =>
  join(REFLECTION_PROTO_DIR, version, 'reflection.proto'),
);

/** Proto file (relative to proto/) of each service's contract. */
export const PROTO_FILES = {
  queue: 'boxoffice/queue/v1/queue.proto',
  concert: 'boxoffice/concert/v1/concert.proto',
  reservation: 'boxoffice/reservation/v1/reservation.proto',
  payment: 'boxoffice/payment/v1/payment.proto',
  point: 'boxoffice/point/v1/point.proto',
  coordinator: 'boxoffice/coordinator/v1/coordinator.proto',
  ops: 'boxoffice/ops/v1/ops.proto',
  participant: 'boxoffice/participant/v1/participant.proto',
  mux: 'boxoffice/mux/v1/mux.proto',
} as const;
