import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { ApiError } from './errors';
import { authorize, JwtVerifier, signAccessToken } from './auth';
import type { Policy } from './routes';

const SECRET = 'unit-test-secret-0123456789';
const verifier = new JwtVerifier(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A token with any header, signed with HMAC-SHA256 over our secret (or not signed). */
function handmade(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  sign = true,
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = sign ? createHmac('sha256', SECRET).update(input).digest('base64url') : '';
  return `${input}.${sig}`;
}

async function refused(authorization: string | undefined): Promise<ApiError> {
  try {
    await verifier.fromHeader(authorization);
  } catch (err) {
    expect(err).to.be.instanceOf(ApiError);
    const e = err as ApiError;
    expect([e.httpStatus, e.code, e.reason]).to.deep.equal([401, 16, 'UNAUTHENTICATED']);
    expect(e.headers['WWW-Authenticate']).to.match(/^Bearer realm="boxoffice"/);
    return e;
  }
  throw new Error('expected a 401');
}

describe('gateway auth', () => {
  it('accepts an HS256 token and reads sub and role', async () => {
    const user = await signAccessToken(SECRET, { userId: 'u_1-A', ttlSeconds: 60 });
    expect(await verifier.fromHeader(`Bearer ${user}`)).to.deep.equal({
      userId: 'u_1-A',
      role: 'user',
    });
    const admin = await signAccessToken(SECRET, { userId: 'boss', admin: true, ttlSeconds: 60 });
    expect(await verifier.fromHeader(`bearer ${admin}`)).to.deep.equal({
      userId: 'boss',
      role: 'admin',
    });
    const other = handmade({ alg: 'HS256' }, { sub: 'u1', exp: now() + 60, role: 'root' });
    expect(await verifier.fromHeader(`Bearer ${other}`)).to.deep.equal({
      userId: 'u1',
      role: 'user',
    });
  });

  it('wants a Bearer header', async () => {
    const missing = await refused(undefined);
    expect(missing.headers['WWW-Authenticate']).to.equal('Bearer realm="boxoffice"');
    await refused('');
    await refused('Basic dTE6cHc=');
    await refused('Bearer');
    await refused('Bearer a b');
  });

  it('refuses alg none', async () => {
    await refused(`Bearer ${handmade({ alg: 'none' }, { sub: 'u1', exp: now() + 60 }, false)}`);
    await refused(`Bearer ${handmade({ alg: 'none' }, { sub: 'u1', exp: now() + 60 })}`);
  });

  it('refuses other algorithms, even with a valid signature for them', async () => {
    const key = new TextEncoder().encode(SECRET);
    const hs384 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS384' })
      .setSubject('u1')
      .setExpirationTime(now() + 60)
      .sign(key);
    await refused(`Bearer ${hs384}`);
    // An RS256 header over an HMAC signature (the key-confusion attack).
    await refused(
      `Bearer ${handmade({ alg: 'RS256', typ: 'JWT' }, { sub: 'u1', exp: now() + 60 })}`,
    );
  });

  it('refuses a bad signature', async () => {
    const forged = await signAccessToken('another-secret-0123456789', {
      userId: 'u1',
      ttlSeconds: 60,
    });
    await refused(`Bearer ${forged}`);
    const good = await signAccessToken(SECRET, { userId: 'u1', ttlSeconds: 60 });
    const [h, , s] = good.split('.');
    await refused(`Bearer ${h}.${b64({ sub: 'admin', exp: now() + 60, role: 'admin' })}.${s}`);
  });

  it('refuses expired tokens and tokens without exp', async () => {
    const expired = await signAccessToken(SECRET, {
      userId: 'u1',
      ttlSeconds: 60,
      nowSeconds: now() - 120,
    });
    expect((await refused(`Bearer ${expired}`)).message).to.match(/expired/);
    await refused(`Bearer ${handmade({ alg: 'HS256' }, { sub: 'u1' })}`);
    await refused(`Bearer ${handmade({ alg: 'HS256' }, { sub: 'u1', exp: String(now() + 60) })}`);
  });

  it('lets a token it has verified through again only until the token expires', async () => {
    let clock = Date.now();
    const remembering = new JwtVerifier(SECRET, () => clock);
    const token = handmade({ alg: 'HS256' }, { sub: 'u9', exp: now() + 2 });
    const first = await remembering.fromHeader(`Bearer ${token}`);
    expect(await remembering.fromHeader(`Bearer ${token}`)).to.deep.equal(first);
    // A forgery differing only in its signature was never verified, so is not let through.
    const forged = `Bearer ${token.slice(0, -2)}AA`;
    const refusal = await remembering.fromHeader(forged).then(
      () => expect.fail('the forgery passed'),
      (err: ApiError) => err,
    );
    expect(refusal.message).to.match(/signature/);
    clock += 3000;
    const late = await remembering.fromHeader(`Bearer ${token}`).then(
      () => expect.fail('the expired token passed'),
      (err: ApiError) => err,
    );
    expect(late.message).to.match(/expired/);
  });

  it('refuses a missing or invalid sub', async () => {
    const exp = now() + 60;
    for (const sub of [undefined, '', 'a b', 'x'.repeat(65), 'ü', 42, '../u1']) {
      await refused(
        `Bearer ${handmade({ alg: 'HS256' }, sub === undefined ? { exp } : { sub, exp })}`,
      );
    }
    expect(
      await verifier.fromHeader(
        `Bearer ${handmade({ alg: 'HS256' }, { sub: 'x'.repeat(64), exp })}`,
      ),
    ).to.have.property('userId', 'x'.repeat(64));
  });

  it('lets only admins through ADMIN routes', () => {
    const admin: Policy = {
      audience: 'ADMIN',
      queueToken: 'NONE',
      successStatus: 201,
      maxStalenessMs: 0,
      repeatAfterPayment: undefined,
    };
    const user: Policy = {
      audience: 'USER',
      queueToken: 'NONE',
      successStatus: 200,
      maxStalenessMs: 0,
      repeatAfterPayment: undefined,
    };
    expect(() => authorize(admin, { userId: 'a', role: 'admin' })).not.to.throw();
    expect(() => authorize(user, { userId: 'u', role: 'user' })).not.to.throw();
    try {
      authorize(admin, { userId: 'u', role: 'user' });
      expect.fail('expected a 403');
    } catch (err) {
      expect(err).to.be.instanceOf(ApiError);
      expect([(err as ApiError).httpStatus, (err as ApiError).reason]).to.deep.equal([
        403,
        'ADMIN_ONLY',
      ]);
    }
  });
});
