// The ended-token feed against the real Redis: it is up only once subscribed, an announcement
// drops the kept pass, and a dropped connection stops every pass counting until resubscribed.
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import Redis from 'ioredis';
import { createLogger } from '../lib/log';
import { ENDED_TOKENS_CHANNEL, signPass } from '../lib/trust/activePass';
import { ActiveTokens, type QueueClient } from './activeTokens';
import { EndedTokenFeed } from './endedTokens';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `ended-feed-test-${process.pid}:`;
const keys = generateKeyPairSync('ed25519');
const alice = { userId: 'alice', role: 'user' as const };

async function until(what: string, ok: () => boolean, ms = 1_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('EndedTokenFeed (Redis)', function () {
  this.timeout(20_000);
  let calls = 0;
  const queue = {
    validateToken: async (req: { token: string }) => {
      calls += 1;
      return { pass: signPass(keys.privateKey, req.token, 'alice', Date.now() + 60_000) };
    },
  } as unknown as QueueClient;
  const tokens = new ActiveTokens(queue, keys.publicKey, 5_000);
  const check = (token: string) => tokens.require(token, alice, () => new Metadata());
  let feed: EndedTokenFeed;
  const publisher = new Redis(REDIS_URL, { lazyConnect: true });

  before(async () => {
    await publisher.connect();
    feed = new EndedTokenFeed(REDIS_URL, PREFIX, tokens, createLogger('silent'));
  });

  after(async () => {
    feed.close();
    await publisher.quit();
  });

  it('keeps passes once subscribed, and drops one within a second of its announced end', async () => {
    // A pass counts once the feed has been up longer than the clock skew before it was signed.
    await until(
      'the feed is subscribed',
      () => {
        void check('warm.tag');
        return tokens.kept > 0;
      },
      3_000,
    );
    calls = 0;
    await check('t1.tag');
    await check('t1.tag');
    expect(calls).to.equal(1);
    await publisher.publish(`${PREFIX}${ENDED_TOKENS_CHANNEL}`, JSON.stringify({ id: 't1' }));
    // Another prefix's announcement is another deployment's, and a malformed one is ignored.
    await publisher.publish(`other:${ENDED_TOKENS_CHANNEL}`, JSON.stringify({ id: 'warm' }));
    await publisher.publish(`${PREFIX}${ENDED_TOKENS_CHANNEL}`, 'not json');
    await until('the pass is dropped', () => {
      void check('warm.tag');
      return tokens.kept === 1;
    });
    await check('t1.tag');
    expect(calls).to.equal(2);
  });

  it('trusts no pass from the moment the connection drops until it has resubscribed', async () => {
    await check('t2.tag');
    const kept = tokens.kept;
    expect(kept).to.be.greaterThan(0);
    const clients = (await publisher.client('LIST')) as string;
    const subscriber = clients
      .split('\n')
      .find((line) => line.includes(` name=${PREFIX}${ENDED_TOKENS_CHANNEL}-listener `));
    const id = /id=(\d+)/.exec(subscriber ?? '')?.[1];
    expect(id, 'the feed has a subscribed connection').to.be.a('string');
    await publisher.client('KILL', 'ID', id!);
    await until('the feed is down', () => tokens.kept === 0);
    await until(
      'the feed is back',
      () => {
        void check('t2.tag');
        return tokens.kept > 0;
      },
      6_000,
    );
  });
});
