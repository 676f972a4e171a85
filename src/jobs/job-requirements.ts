import { Injectable } from '@nestjs/common';
import { makeRoomFor } from '../common/bounded-map';
import { OnEvent } from '@nestjs/event-emitter';
import { JobsRepository } from '../persistence/jobs.repository';
import type { JobEntity } from '../persistence/entities/job.entity';
import { workflowRequirements, type WorkflowRequirements } from '../workflows';
import { JobEvents } from './job.events';

/** Queued jobs' requirements kept in memory: a backlog larger than this reads the evicted jobs' rows again. */
const MAX_JOBS = 8192;

/**
 * A queued job's workflow requirements (node classes, model files), computed once: at submit, where the
 * runnable check needs them anyway, or on the first routing of a job this process did not take (another
 * instance's, or one queued before a restart), from its row. The dispatcher's passes read rows without the
 * workflow (a pass reads many), so without this a job cost one more read and a parse on every pass.
 */
@Injectable()
export class JobRequirements {
  /** Insertion order is age: the oldest entry goes first when full. null = the workflow could not be read. */
  private readonly byJob = new Map<string, WorkflowRequirements | null>();

  constructor(private readonly jobs: JobsRepository) {}

  /** The workflow's requirements, or null when it is over the reader's limits (nothing to compare then). */
  static compute(workflow: unknown): WorkflowRequirements | null {
    try {
      return workflowRequirements(workflow);
    } catch {
      return null;
    }
  }

  remember(jobId: string, requirements: WorkflowRequirements | null): void {
    makeRoomFor(this.byJob, MAX_JOBS);
    this.byJob.set(jobId, requirements);
  }

  /** The job's requirements (read from its row when not kept); null when its workflow cannot be read. */
  async of(job: JobEntity): Promise<WorkflowRequirements | null> {
    const kept = this.byJob.get(job.id);
    if (kept !== undefined) return kept;
    let requirements: WorkflowRequirements | null = null;
    try {
      const workflow = job.workflow ?? (await this.jobs.findById(job.id))?.workflow;
      if (workflow !== undefined) requirements = JobRequirements.compute(JSON.parse(workflow));
    } catch {
      requirements = null;
    }
    this.remember(job.id, requirements);
    return requirements;
  }

  /** Kept requirements without a read (undefined when not kept). */
  peek(jobId: string): WorkflowRequirements | null | undefined {
    return this.byJob.get(jobId);
  }

  /** A job that ended needs its entry no more (one retried after a failure on a worker keeps it). */
  @OnEvent(JobEvents.Completed)
  @OnEvent(JobEvents.Failed)
  @OnEvent(JobEvents.Cancelled)
  forget(event: { jobId: string }): void {
    this.byJob.delete(event.jobId);
  }
}
