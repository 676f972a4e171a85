import { InvalidInputError } from '../common/domain-errors';
import type { Candidate } from '../routing-estimates/candidates';

/**
 * No backend can meet the job's deadline or maxCostUsd (routing-estimates/plan.ts says `infeasible`). POST /api/jobs
 * answers 422 with `bestOption`, the fastest candidate: when it would complete and at what cost (UnrunnableJobFilter);
 * other callers see an InvalidInputError (400) with `details.bestOption`.
 */
export class InfeasibleJobError extends InvalidInputError {
  readonly bestOption: InfeasibleBestOption | null;

  constructor(message: string, best: Candidate | null) {
    const bestOption = best && {
      backend: best.backend,
      kind: best.kind,
      workerClass: best.workerClass,
      completeAt: new Date(best.completeAt).toISOString(),
      costUsd: Math.round(best.costUsd * 1e6) / 1e6,
    };
    super(message, { bestOption });
    this.bestOption = bestOption;
  }
}

export interface InfeasibleBestOption {
  backend: Candidate['backend'];
  kind: Candidate['kind'];
  workerClass: string;
  completeAt: string;
  costUsd: number;
}
