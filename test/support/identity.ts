// Call options that carry a caller's identity, signed as the gateway signs it, for tests that
// call one service over gRPC without a gateway in front.
import { Metadata } from '@grpc/grpc-js';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../lib/grpc/identity';

export function asCaller(identity: Identity, meshSecret: string): { metadata: Metadata } {
  const metadata = new Metadata();
  metadata.set(IDENTITY_HEADER, signIdentity(identity, meshSecret));
  return { metadata };
}
