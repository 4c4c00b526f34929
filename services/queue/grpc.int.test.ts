// The queue service end to end over gRPC: the real server on port 0, the mesh's own client.
import { Client, credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import { asService } from '../../test/support/identity';
import type { Config } from '../../lib/config';
import type { AsyncClient } from '../../lib/grpc/client';
import { CALLER_METADATA } from '../../lib/trust/caller';
import { errorDetail } from '../../lib/grpc/status';
import { ACTIVE_PASS_HEADER, readPass, tokenHash } from '../../lib/trust/activePass';
import { testContext, type TestContext } from '../../test/support/context';
import { deleteKeys, runId } from '../../test/support/infra';
import {
  IssueTokenResponse,
  QueueServiceService,
  TokenStatus,
} from '../../gen/boxoffice/queue/v1/queue';
import { startQueue } from './main';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('queue gRPC service', function () {
  const prefix = `${runId()}:`;
  let ctx: TestContext;
  let config: Config;
  let target: string;
  let client: AsyncClient<typeof QueueServiceService>;

  before(async () => {
    ctx = await testContext(
      {
        QUEUE_GRPC_PORT: '0',
        REDIS_KEY_PREFIX: prefix,
        QUEUE_MAX_ACTIVE: '1',
        QUEUE_ADMIT_INTERVAL_MS: '100',
      },
      2000,
    );
    config = ctx.config;
    const port = await startQueue(ctx);
    expect(port).to.be.greaterThan(0);
    target = `127.0.0.1:${port}`;
    client = ctx.channels.client(QueueServiceService, target, ctx.trust.signer('gateway'));
  });

  after(async () => {
    await ctx.stop();
    await deleteKeys(config.redis.url, prefix);
  });

  function identity(userId: string, token?: string): Metadata {
    const md = new Metadata();
    md.set(CALLER_METADATA, ctx.trust.signer('gateway').token({ userId, role: 'user' }));
    if (token !== undefined) md.set('x-queue-token', token);
    return md;
  }
  const as = (userId: string, token?: string) => ({ metadata: identity(userId, token) });
  const operator = () => asService(ctx.trust, 'operator');

  async function errorOf(
    p: Promise<unknown>,
  ): Promise<{ code: Status; reason: string } | undefined> {
    try {
      await p;
    } catch (err) {
      const d = errorDetail(err as ServiceError);
      return { code: d.code, reason: d.reason };
    }
    return undefined;
  }

  /** IssueToken on a raw client, to see the response headers the gateway reads. */
  function issueWithHeaders(
    userId: string,
  ): Promise<{ res: IssueTokenResponse; headers: Metadata }> {
    const raw = new Client(target, credentials.createInsecure());
    const def = QueueServiceService.issueToken;
    return new Promise((resolve, reject) => {
      let headers = new Metadata();
      const call = raw.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        {},
        identity(userId),
        (err: ServiceError | null, res?: IssueTokenResponse) => {
          raw.close();
          if (err || !res) reject(err ?? new Error('no response'));
          else resolve({ res, headers });
        },
      );
      call.on('metadata', (md: Metadata) => {
        headers = md;
      });
    });
  }

  it('issues a token (201 by default) and the same one again with x-http-code 200', async () => {
    const first = await issueWithHeaders('alice');
    expect(first.res).to.include({ status: TokenStatus.ACTIVE, position: 0 });
    expect(first.res.expiresAt).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(first.headers.get('x-http-code')).to.deep.equal([]);
    const again = await issueWithHeaders('alice');
    expect(again.res.token).to.equal(first.res.token);
    expect(again.headers.get('x-http-code')).to.deep.equal(['200']);
    // An ACTIVE token's answers carry a pass the queue signed: the gateway keeps it until the
    // token's end, so it need not ask about the token. ValidateToken answers one too.
    const queueKey = ctx.trust.keys.publicKey('queue')!;
    const passFor = {
      tokenId: first.res.token.split('.')[0],
      tokenHash: tokenHash(first.res.token),
      userId: 'alice',
      expiresAt: Date.parse(first.res.expiresAt),
    };
    for (const answer of [first, again]) {
      const [header] = answer.headers.get(ACTIVE_PASS_HEADER);
      expect(readPass(String(header), queueKey)).to.include(passFor);
    }
    const { pass } = await client.validateToken({ token: first.res.token }, as('alice'));
    expect(readPass(pass, queueKey)).to.include(passFor);
    expect(readPass(pass, queueKey)!.issuedAt).to.be.closeTo(Date.now(), 5_000);
    expect(readPass(pass, ctx.trust.keys.publicKey('gateway')!)).to.equal(undefined);
  });

  it('reports status and counts the wait, and admits on its own tick once a slot frees', async () => {
    const alice = await client.issueToken({}, as('alice'));
    const bob = await client.issueToken({}, as('bob'));
    expect(bob).to.include({ status: TokenStatus.WAITING, position: 1 });
    const st = await client.getStatus({}, as('bob', bob.token));
    expect(st).to.include({ status: TokenStatus.WAITING, position: 1 });
    expect(st.estimatedWaitSeconds).to.be.greaterThan(0);
    expect(Date.parse(st.expiresAt)).to.be.greaterThan(Date.now());
    expect(await client.endToken({ userId: 'alice' }, operator())).to.deep.equal({ ended: true });
    expect(await client.endToken({ userId: 'alice' }, operator())).to.deep.equal({ ended: false });
    let now = await client.getStatus({}, as('bob', bob.token));
    for (let i = 0; i < 30 && now.status !== TokenStatus.ACTIVE; i++) {
      await sleep(50);
      now = await client.getStatus({}, as('bob', bob.token));
    }
    expect(now).to.include({ status: TokenStatus.ACTIVE, position: 0, estimatedWaitSeconds: 0 });
    await client.validateToken({ token: bob.token }, as('bob'));
    expect(await errorOf(client.validateToken({ token: alice.token }, as('alice')))).to.deep.equal({
      code: Status.UNAUTHENTICATED,
      reason: 'QUEUE_TOKEN_EXPIRED',
    });
  });

  it('sends every token error with its status and reason', async () => {
    const carol = await client.issueToken({}, as('carol')); // waiting behind bob
    expect(carol.status).to.equal(TokenStatus.WAITING);
    // Thunks: each call starts only when its turn comes.
    const forged = carol.token.slice(0, -1) + (carol.token.endsWith('A') ? 'B' : 'A');
    const cases: [() => Promise<unknown>, Status, string][] = [
      [() => client.getStatus({}, as('carol')), Status.UNAUTHENTICATED, 'QUEUE_TOKEN_REQUIRED'],
      [
        () => client.getStatus({}, as('carol', 'garbage')),
        Status.UNAUTHENTICATED,
        'QUEUE_TOKEN_INVALID',
      ],
      [
        () => client.validateToken({ token: forged }, as('carol')),
        Status.UNAUTHENTICATED,
        'QUEUE_TOKEN_INVALID',
      ],
      [
        () => client.validateToken({ token: '' }, as('carol')),
        Status.UNAUTHENTICATED,
        'QUEUE_TOKEN_REQUIRED',
      ],
      [
        () => client.validateToken({ token: carol.token }, as('carol')),
        Status.PERMISSION_DENIED,
        'QUEUE_TOKEN_NOT_ACTIVE',
      ],
      [
        () => client.getStatus({}, as('dave', carol.token)),
        Status.PERMISSION_DENIED,
        'QUEUE_TOKEN_USER_MISMATCH',
      ],
      [
        () => client.validateToken({ token: carol.token }, as('dave')),
        Status.PERMISSION_DENIED,
        'QUEUE_TOKEN_USER_MISMATCH',
      ],
      [() => client.issueToken({}), Status.UNAUTHENTICATED, 'UNAUTHENTICATED'],
      [
        () => client.endToken({ userId: '' }, operator()),
        Status.INVALID_ARGUMENT,
        'INVALID_ARGUMENT',
      ],
    ];
    for (const [call, code, reason] of cases) {
      expect(await errorOf(call()), reason).to.deep.equal({ code, reason });
    }
  });
});
