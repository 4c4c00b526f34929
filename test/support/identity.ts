// Call options that prove a caller, as the mesh's processes sign them, for tests that call one
// service over gRPC with nobody in front: an end user as the gateway names one, or a service
// (the coordinator with a transaction context, an operator).
import { Metadata } from '@grpc/grpc-js';
import { writeTxContext, type TxContext } from '../../lib/participant/context';
import { CALLER_METADATA, type EndUser } from '../../lib/trust/caller';
import type { IdentityName } from '../../lib/trust/keys';
import type { Trust } from '../../lib/trust/trust';

/** A call the gateway makes for `user`. */
export function asUser(trust: Trust, user: EndUser): { metadata: Metadata } {
  const metadata = new Metadata();
  metadata.set(CALLER_METADATA, trust.signer('gateway').token(user));
  return { metadata };
}

/** A call `identity` makes, with a transaction context its key signs when given. */
export function asService(
  trust: Trust,
  identity: IdentityName,
  tx?: TxContext,
): { metadata: Metadata } {
  const metadata = new Metadata();
  metadata.set(CALLER_METADATA, trust.signer(identity).token());
  if (tx) writeTxContext(tx, trust.txKey!, metadata);
  return { metadata };
}

/** A branch or phase-2 call of the coordinator, with its signed transaction context. */
export function asCoordinator(trust: Trust, tx: TxContext): { metadata: Metadata } {
  return asService(trust, 'coordinator', tx);
}

/** A call that proves no caller at all (the client signs none when the header is there). */
export function anonymous(): { metadata: Metadata } {
  const metadata = new Metadata();
  metadata.set(CALLER_METADATA, '');
  return { metadata };
}
