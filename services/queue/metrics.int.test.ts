// The queue service's /metrics: the waiting-room gauges agree with Redis as tokens are issued,
// ended and admitted; its calls and its consumer's parked queue show up too.
import { Metadata } from '@grpc/grpc-js';
import { expect } from 'chai';
import { asService } from '../../test/support/identity';
import type { Config } from '../../lib/config';
import type { AsyncClient } from '../../lib/grpc/client';
import { CALLER_METADATA } from '../../lib/trust/caller';
import { serveMetrics } from '../../lib/metrics/server';
import { createRedis, type Redis } from '../../lib/redis';
import { testContext, type TestContext } from '../../test/support/context';
import { deleteKeys, runId } from '../../test/support/infra';
import { scrape, valueOf } from '../../test/support/metrics';
import { QueueServiceService, TokenStatus } from '../../gen/boxoffice/queue/v1/queue';
import { END_TOKEN_QUEUE } from './events';
import { startQueue } from './main';
import { WaitingRoom } from './waitingRoom';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('queue service metrics', function () {
  this.timeout(30_000);
  const prefix = `${runId()}:`;
  let ctx: TestContext;
  let config: Config;
  let client: AsyncClient<typeof QueueServiceService>;
  let metricsUrl = '';
  let redis: Redis;
  /** The store itself, read apart from the service. */
  let store: WaitingRoom;

  before(async () => {
    ctx = await testContext(
      {
        QUEUE_GRPC_PORT: '0',
        REDIS_KEY_PREFIX: prefix,
        QUEUE_MAX_ACTIVE: '2',
        QUEUE_ADMIT_INTERVAL_MS: '100',
      },
      2000,
    );
    config = ctx.config;
    const port = await startQueue(ctx);
    client = ctx.clientAt(QueueServiceService, port, 'gateway');
    const server = await serveMetrics(ctx.metrics, '127.0.0.1', 0);
    ctx.lifecycle.onStop('metrics http', () => server.close());
    metricsUrl = `http://127.0.0.1:${server.port}/metrics`;
    redis = createRedis(config.redis.url, prefix);
    store = new WaitingRoom(redis, config.queue);
  });

  after(async () => {
    await ctx.stop();
    redis.disconnect();
    await deleteKeys(config.redis.url, prefix);
  });

  function as(userId: string): { metadata: Metadata } {
    const md = new Metadata();
    md.set(CALLER_METADATA, ctx.trust.signer('gateway').token({ userId, role: 'user' }));
    return { metadata: md };
  }

  async function gauges(): Promise<{ waiting?: number; active?: number }> {
    const text = await scrape(metricsUrl);
    return {
      waiting: valueOf(text, 'waiting_room_waiting'),
      active: valueOf(text, 'waiting_room_active'),
    };
  }

  it('shows an empty waiting room', async () => {
    expect(await gauges()).to.deep.equal({ waiting: 0, active: 0 });
  });

  it('matches the store after issuing more tokens than the cap', async () => {
    const issued = [];
    for (const u of ['u1', 'u2', 'u3', 'u4', 'u5']) issued.push(await client.issueToken({}, as(u)));
    expect(issued.map((t) => t.status)).to.deep.equal([
      TokenStatus.ACTIVE,
      TokenStatus.ACTIVE,
      TokenStatus.WAITING,
      TokenStatus.WAITING,
      TokenStatus.WAITING,
    ]);
    expect(await store.stats()).to.deep.equal({ waiting: 3, active: 2 });
    expect(await gauges()).to.deep.equal({ waiting: 3, active: 2 });
  });

  it('follows an ended token and the admission that fills its slot', async () => {
    expect(await client.endToken({ userId: 'u1' }, asService(ctx.trust, 'operator'))).to.deep.equal(
      { ended: true },
    );
    // The tick admits u3 within about 100 ms.
    let now = await gauges();
    for (let i = 0; i < 40 && now.waiting !== 2; i++) {
      await sleep(50);
      now = await gauges();
    }
    expect(now).to.deep.equal({ waiting: 2, active: 2 });
    expect(await store.stats()).to.deep.equal({ waiting: 2, active: 2 });
  });

  it('counts its gRPC calls and shows its consumer parked queue', async () => {
    let text = await scrape(metricsUrl);
    const count = (method: string, code: string) =>
      valueOf(text, 'grpc_server_duration_seconds_count', { service: 'queue', method, code });
    expect(count('IssueToken', 'OK')).to.equal(5);
    expect(count('EndToken', 'OK')).to.equal(1);
    // The consumer attaches in the background; then its parked queue is read on scrape.
    for (let i = 0; i < 60 && valueOf(text, 'dlq_parked_messages') === undefined; i++) {
      await sleep(50);
      text = await scrape(metricsUrl);
    }
    expect(valueOf(text, 'dlq_parked_messages', { queue: END_TOKEN_QUEUE })).to.equal(0);
  });
});
