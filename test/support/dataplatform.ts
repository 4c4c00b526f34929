// The bundled data-platform mock of a running mesh: what it received, and how it answers.
import { expect } from 'chai';
import type { Mesh } from './mesh';

export interface Delivery {
  eventId: string;
  /** Arrivals, refused ones included. */
  count: number;
  /** Arrivals answered 2xx. */
  accepted: number;
  body: Record<string, unknown>;
}

export async function deliveries(mesh: Mesh): Promise<Delivery[]> {
  const res = await fetch(new URL('/deliveries', mesh.env.DATAPLATFORM_URL));
  return ((await res.json()) as { deliveries: Delivery[] }).deliveries;
}

export async function mockMode(
  mesh: Mesh,
  mode: 'ok' | 'fail' | 'stall' | 'slow',
  delayMs?: number,
): Promise<void> {
  const res = await fetch(new URL('/control', mesh.env.DATAPLATFORM_URL), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mode, delayMs }),
  });
  expect(res.status).to.equal(200);
}
