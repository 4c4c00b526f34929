// A process's part in the mesh's trust model (docs/trust.md): the keys it holds, a signer per
// identity it acts as (its services, or an operator's tool), and the verifier of callers.
import { CallerSigner, CallerVerifier } from './caller';
import { keysFromDir, keysFromSecret, type IdentityName, type MeshKeys } from './keys';

export interface TrustConfig {
  /** MESH_KEYS_DIR; undefined: development keys derived from devSecret. */
  keysDir: string | undefined;
  /** MESH_SECRET, the development fallback. */
  devSecret: string;
}

export class Trust {
  readonly verifier: CallerVerifier;
  private readonly signers = new Map<IdentityName, CallerSigner>();

  constructor(readonly keys: MeshKeys) {
    this.verifier = new CallerVerifier(keys);
  }

  /** Signs calls as `identity`; throws when this process holds no key for it. */
  signer(identity: IdentityName): CallerSigner {
    let s = this.signers.get(identity);
    if (!s) this.signers.set(identity, (s = new CallerSigner(this.keys, identity)));
    return s;
  }

  /** The transaction-context key (coordinator and participants only). */
  get txKey(): Buffer | undefined {
    return this.keys.txKey;
  }
}

/** The trust of a process acting as `actAs`, from MESH_KEYS_DIR or the development secret. */
export function loadTrust(cfg: TrustConfig, actAs: readonly IdentityName[]): Trust {
  return new Trust(cfg.keysDir ? keysFromDir(cfg.keysDir, actAs) : keysFromSecret(cfg.devSecret));
}
