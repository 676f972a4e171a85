import { SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { Clock } from '../../common/clock';
import type { EnrolmentTokensRepository } from '../../persistence/enrolment-tokens.repository';
import type { LocalWorkersRepository } from '../../persistence/local-workers.repository';
import { ENROLMENT_TOKEN_PREFIX, secretHash, WORKER_KEY_PREFIX } from './enrolment-secrets';

/**
 * Credentials besides the API keys, each good for one route only (README "Installing a studio machine"):
 * - an enrolment token (`cwe_...`): registers one worker (consumed by the registration), and reads the install
 *   manifest while it is unused;
 * - a worker key (`cww_...`, issued at registration): removes that one worker (the installer's uninstall).
 * Routes opt in with the decorators below; every other route treats these like any wrong key.
 */
export type EnrolmentCredential = 'enrolmentToken' | 'workerKey';

export const ENROLMENT_ACCESS_METADATA = 'cloud-workers:enrolment-access';

/** The route also takes an unused, unexpired enrolment token in place of a key. */
export const EnrolmentTokenAccess = (): MethodDecorator =>
  SetMetadata(ENROLMENT_ACCESS_METADATA, 'enrolmentToken' satisfies EnrolmentCredential);

/** The route (`.../:id`) also takes the worker key issued to worker `:id` at its registration. */
export const WorkerKeyAccess = (): MethodDecorator =>
  SetMetadata(ENROLMENT_ACCESS_METADATA, 'workerKey' satisfies EnrolmentCredential);

export function enrolmentAccessOf(handler: object): EnrolmentCredential | undefined {
  return Reflect.getMetadata(ENROLMENT_ACCESS_METADATA, handler) as EnrolmentCredential | undefined;
}

/** What the guard learnt about a request it let through on an enrolment token (read by the handler). */
export interface Enrolment {
  tokenHash: string;
}

const enrolments = new WeakMap<Request, Enrolment>();

/** The enrolment token a request was let through on, if it was (the registration consumes it). */
export function enrolmentOf(request: Request): Enrolment | undefined {
  return enrolments.get(request);
}

export const ENROLMENT_TOKEN_REFUSED =
  'Enrolment token unknown, already used or expired: create a new one (dashboard Controls page, or ' +
  'POST /api/local/install-tokens)';
export const WORKER_KEY_REFUSED =
  'Invalid worker key: a worker key may only remove the worker it was issued to';

/**
 * Checks the enrolment credentials for ApiKeyGuard. Tokens and keys are looked up by their SHA-256 only, and
 * never logged or echoed.
 */
export class EnrolmentAuthority {
  constructor(
    private readonly tokens: EnrolmentTokensRepository,
    private readonly workers: LocalWorkersRepository,
    private readonly clock: Clock,
  ) {}

  /** The credential this route takes that `presented` looks like, if any. */
  credentialFor(handler: object, presented: string): EnrolmentCredential | undefined {
    const accepted = enrolmentAccessOf(handler);
    if (accepted === 'enrolmentToken' && presented.startsWith(ENROLMENT_TOKEN_PREFIX)) return accepted;
    if (accepted === 'workerKey' && presented.startsWith(WORKER_KEY_PREFIX)) return accepted;
    return undefined;
  }

  /** True when `presented` is good for this request; remembers an accepted enrolment token on the request. */
  async allows(credential: EnrolmentCredential, presented: string, request: Request): Promise<boolean> {
    const hash = secretHash(presented);
    if (credential === 'enrolmentToken') {
      if (!(await this.tokens.findUsable(hash, this.clock.now()))) return false;
      enrolments.set(request, { tokenHash: hash });
      return true;
    }
    const id = (request.params as Record<string, string | undefined>).id;
    if (typeof id !== 'string') return false;
    const worker = await this.workers.findById(id);
    return worker?.workerKeyHash != null && worker.workerKeyHash === hash;
  }

  refusal(credential: EnrolmentCredential): string {
    return credential === 'enrolmentToken' ? ENROLMENT_TOKEN_REFUSED : WORKER_KEY_REFUSED;
  }
}
