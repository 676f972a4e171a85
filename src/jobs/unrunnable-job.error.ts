import { InvalidInputError } from '../common/domain-errors';
import type { ModelRequirement } from '../workflows';

/** Names a workflow needs that a worker lacks (node classes, model files), as the 422 of POST /api/jobs shows them. */
export interface MissingNames {
  nodes: string[];
  models: ModelRequirement[];
}

/** Most names of each kind an answer lists (a workflow may name hundreds; the first ones say what to install). */
export const MAX_MISSING_SHOWN = 50;

/**
 * No configured backend can run the workflow: local workers are the only ones that could, all of their
 * capabilities are known, and none has every node and model it names. POST /api/jobs answers 422 with `missing`
 * (UnrunnableJobFilter); other callers see an InvalidInputError (400) with `details.missing`.
 */
export class UnrunnableJobError extends InvalidInputError {
  constructor(
    message: string,
    readonly missing: MissingNames,
  ) {
    super(message, { missing });
  }
}
