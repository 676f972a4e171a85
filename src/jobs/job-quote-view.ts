import type { Candidate } from '../routing-estimates/candidates';
import type { Quote } from '../routing-estimates/routing-estimates.service';
import type { JobQuoteDto, QuoteCandidateDto } from './dto/job-quote.dto';

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

function candidateView(candidate: Candidate): QuoteCandidateDto {
  return {
    backend: candidate.backend,
    kind: candidate.kind,
    workerClass: candidate.workerClass,
    workerId: candidate.workerId,
    startAt: new Date(candidate.startAt).toISOString(),
    completeAt: new Date(candidate.completeAt).toISOString(),
    runSeconds: round(candidate.runSeconds, 3),
    costUsd: round(candidate.costUsd, 6),
  };
}

/** The API's view of a quote: times as ISO strings, seconds to the millisecond, dollars to the micro-dollar. */
export function toQuoteDto(quote: Quote): JobQuoteDto {
  return {
    candidates: quote.candidates.map(candidateView),
    pick: {
      candidate: quote.pick.candidate && candidateView(quote.pick.candidate),
      decision: quote.pick.decision,
      why: quote.pick.why,
    },
    signature: quote.signature,
    runTimeSource: quote.runTimeSource,
  };
}
