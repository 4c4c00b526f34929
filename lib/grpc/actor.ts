// Who an operator's action is by, for the audit trail: the admin user the gateway vouches for,
// or the identity of the tool that called (operator).
import type { CallContext } from './server';

export function actorOf(ctx: CallContext): string {
  return ctx.user?.userId ?? ctx.caller.service;
}
