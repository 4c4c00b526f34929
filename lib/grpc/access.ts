// Who may call each RPC, as its (boxoffice.options.v1.access) option declares, and the check
// every server makes before a handler runs: a caller identity signed by its service, one the
// RPC admits, the end user the RPC needs from the gateway, and for branches and phase 2 a
// transaction context the coordinator signed (docs/trust.md).
import type { Metadata } from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { DomainError } from '../errors';
import { readTxContext, type TxContext } from '../participant/context';
import type { Caller, CallerVerifier } from '../trust/caller';
import { IDENTITIES, type IdentityName } from '../trust/keys';
import { loadProtos, methodOption } from './protos';

export type UserPolicy = 'NO_USER' | 'ANY_USER' | 'USER_REQUIRED' | 'ADMIN_REQUIRED';

export interface AccessRule {
  callers: ReadonlySet<IdentityName>;
  transaction: boolean;
  user: UserPolicy;
}

const PARTICIPANTS: readonly IdentityName[] = ['concert', 'reservation', 'payment', 'point'];
const USER_POLICIES: readonly UserPolicy[] = [
  'NO_USER',
  'ANY_USER',
  'USER_REQUIRED',
  'ADMIN_REQUIRED',
];

/** The access rule of every RPC of the files' services, by method path (/pkg.Service/Method). */
export function accessRules(protoFiles: readonly string[]): Map<string, AccessRule> {
  const rules = new Map<string, AccessRule>();
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Service) {
        const service = nested.fullName.replace(/^\./, '');
        for (const method of nested.methodsArray) {
          const where = `${service}/${method.name}`;
          const raw = methodOption(method, '(boxoffice.options.v1.access)');
          if (raw) rules.set(`/${where}`, parseRule(where, raw));
        }
      } else if (nested instanceof protobuf.Namespace) {
        visit(nested);
      }
    }
  };
  visit(loadProtos(protoFiles));
  return rules;
}

function parseRule(where: string, raw: Record<string, unknown>): AccessRule {
  const names = Array.isArray(raw.callers) ? raw.callers : raw.callers ? [raw.callers] : [];
  const callers = new Set<IdentityName>();
  for (const name of names) {
    if (name === 'participant') PARTICIPANTS.forEach((p) => callers.add(p));
    else if (IDENTITIES.includes(name as IdentityName)) callers.add(name as IdentityName);
    else throw new Error(`${where}: access names an unknown caller "${String(name)}"`);
  }
  if (callers.size === 0) throw new Error(`${where}: access admits no caller`);
  const user = (raw.user ?? 'NO_USER') as UserPolicy;
  if (!USER_POLICIES.includes(user))
    throw new Error(`${where}: unknown user policy ${String(user)}`);
  return { callers, transaction: raw.transaction === true, user };
}

/** What a call that passed the check may rely on. */
export interface Admitted {
  caller: Caller;
  /** The signed transaction context, when the RPC needs one. */
  tx: TxContext | undefined;
}

/** Checks a call against its RPC's rule; the DomainError says why it is refused. */
export function admit(
  rule: AccessRule,
  rpc: string,
  md: Metadata,
  verifier: CallerVerifier,
  txKey: Buffer | undefined,
): Admitted {
  const who = verifier.fromMetadata(md);
  if (!who.ok) throw new DomainError('UNAUTHENTICATED', who.why);
  const { caller } = who;
  if (!rule.callers.has(caller.service))
    throw new DomainError('PERMISSION_DENIED', `${caller.service} may not call ${rpc}`);
  if (caller.service === 'gateway') checkUser(rule.user, rpc, caller);
  if (!rule.transaction) return { caller, tx: undefined };
  const check = readTxContext(md, txKey);
  if (!check)
    throw new DomainError(
      'UNAUTHENTICATED',
      `${rpc} needs a transaction context signed by the coordinator`,
    );
  if (!check.ok) throw new DomainError('UNAUTHENTICATED', check.why);
  return { caller, tx: check.ctx };
}

function checkUser(policy: UserPolicy, rpc: string, caller: Caller): void {
  switch (policy) {
    case 'ANY_USER':
      return;
    case 'USER_REQUIRED':
      if (!caller.user) throw new DomainError('UNAUTHENTICATED', `${rpc} needs a signed-in user`);
      return;
    case 'ADMIN_REQUIRED':
      if (!caller.user) throw new DomainError('UNAUTHENTICATED', `${rpc} needs a signed-in user`);
      if (caller.user.role !== 'admin')
        throw new DomainError('ADMIN_ONLY', `${rpc} is for administrators only`);
      return;
    case 'NO_USER':
      if (caller.user) throw new DomainError('PERMISSION_DENIED', `${rpc} acts for no user`);
  }
}
