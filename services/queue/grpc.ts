// gRPC adapter of the queue service: decode, call one use case, encode.
import type { Metadata } from '@grpc/grpc-js';
import type { KeyObject } from 'node:crypto';
import { bindService, requireUser, type ServiceBinding } from '../../lib/grpc/server';
import { ACTIVE_PASS_HEADER, signPass } from '../../lib/trust/activePass';
import { QueueServiceService, TokenStatus } from '../../gen/boxoffice/queue/v1/queue';
import type { WaitingRoom } from './waitingRoom';

/** The client's X-Queue-Token header, as the gateway forwards it. */
export const QUEUE_TOKEN_HEADER = 'x-queue-token';
/** Tells the gateway which HTTP status to answer with instead of the route's default. */
const HTTP_CODE_HEADER = 'x-http-code';

/**
 * The queue's RPCs; `passKey` (the queue's private key) signs a pass with every answer that
 * shows a token ACTIVE, which the gateway keeps instead of asking about the token again.
 */
export function queueService(room: WaitingRoom, passKey: KeyObject): ServiceBinding {
  return bindService('boxoffice.queue.v1.QueueService', QueueServiceService, {
    async issueToken(_req, ctx) {
      const userId = requireUser(ctx).userId;
      const issued = await room.issueToken(userId);
      // The same token again is not a creation: 200, not the route's 201.
      if (issued.existing) ctx.setHeader(HTTP_CODE_HEADER, '200');
      if (issued.status === 'ACTIVE')
        ctx.setHeader(
          ACTIVE_PASS_HEADER,
          signPass(passKey, issued.token, userId, +issued.expiresAt),
        );
      return {
        token: issued.token,
        status: TokenStatus[issued.status],
        position: issued.position,
        expiresAt: issued.expiresAt.toISOString(),
      };
    },
    async getStatus(_req, ctx) {
      const userId = requireUser(ctx).userId;
      const token = queueToken(ctx.metadata);
      const view = await room.getStatus(token, userId);
      if (view.status === 'ACTIVE' && token)
        ctx.setHeader(ACTIVE_PASS_HEADER, signPass(passKey, token, userId, +view.expiresAt));
      return {
        status: TokenStatus[view.status],
        position: view.position,
        estimatedWaitSeconds: view.estimatedWaitSeconds,
        expiresAt: view.expiresAt.toISOString(),
      };
    },
    // Internal (no HTTP route): the gateway asks for the user its signed identity names, and
    // keeps the signed pass until the token's end (or until the token is ended).
    async validateToken(req, ctx) {
      const userId = requireUser(ctx).userId;
      const { expiresAt } = await room.validateToken(req.token, userId);
      return { pass: signPass(passKey, req.token, userId, expiresAt.getTime()) };
    },
    async endToken(req) {
      return { ended: await room.endToken(req.userId) };
    },
  });
}

function queueToken(md: Metadata): string | undefined {
  const [value] = md.get(QUEUE_TOKEN_HEADER);
  return typeof value === 'string' ? value : undefined;
}
