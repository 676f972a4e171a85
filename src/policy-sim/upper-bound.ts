import { billedSeconds, drawColdStart, podPricePerSecond, type SimModel } from './model';
import { Rng } from './rng';
import type { SimJob } from './workloads';

/**
 * UB(W): the bill of one concrete clairvoyant schedule (autoscaling-theory.md §2.3), so LB ≤ OPT ≤ UB. The
 * oracle knows every arrival and duration, pre-launches pods (billed the longest boot, so the schedule is
 * realisable whatever the draw) and pre-warms serverless workers (billed the job's own cold-start draw), and
 * starts every job within W of its arrival. Jobs are taken in arrival order and each goes where it adds the
 * least to the bill: a local GPU (free), an existing pod (kept through the idle gap when the gap costs less
 * than a re-boot, else stopped and re-launched: the offline ski-rental choice min(g·p_p, β)), a new pod (up to
 * M), or serverless (a warm worker if one is idle, else a pre-warmed new one, up to S). Every pod run and
 * worker session is billed start to stop, rounded as RunPod rounds. No failures (it bounds the failure-free
 * optimum). Greedy, so not optimal; it brackets OPT from above.
 */
export interface UpperBoundResult {
  costUsd: number;
  podUsd: number;
  serverlessUsd: number;
  /** Jobs that could not start within W anywhere (capacity): they start as soon as capacity frees. */
  lateJobs: number;
  podRuns: number;
}

interface PodTimeline {
  /** Start of the current run (billing), end of its last job. */
  runStart: number;
  freeAt: number;
}

interface Worker {
  createdAt: number;
  freeAt: number;
}

export function upperBound(jobs: SimJob[], model: SimModel, waitS: number, seed: number): UpperBoundResult {
  const pp = podPricePerSecond(model);
  const ps = model.serverlessPricePerSecond;
  const boot = model.podBootMaxS;
  const rebootUsd = pp * boot;
  const local = new Array<number>(model.localWorkers).fill(-Infinity);
  const pods: PodTimeline[] = [];
  const workers: Worker[] = [];
  let podUsd = 0;
  let serverlessUsd = 0;
  let lateJobs = 0;
  let podRuns = 0;
  const closeRun = (pod: PodTimeline) => {
    podUsd += billedSeconds(model, pod.freeAt - pod.runStart) * pp;
  };
  const closeWorker = (worker: Worker) => {
    serverlessUsd +=
      billedSeconds(model, worker.freeAt + model.serverlessIdleTimeoutS - worker.createdAt) * ps;
  };

  const ordered = [...jobs].sort((a, b) => a.arrivalS - b.arrivalS);
  for (const job of ordered) {
    const a = job.arrivalS;
    const d = job.durationS;
    const latest = Math.max(a, job.deadlineS !== undefined ? job.deadlineS - d : a + waitS);
    // Local: free, take the earliest that can start in time.
    let bestLocal = -1;
    for (let i = 0; i < local.length; i++)
      if (local[i] <= latest && (bestLocal < 0 || local[i] < local[bestLocal])) bestLocal = i;
    if (bestLocal >= 0) {
      local[bestLocal] = Math.max(a, local[bestLocal]) + d;
      continue;
    }
    type Option = { usd: number; apply: () => void };
    const options: Option[] = [];
    for (const pod of pods) {
      if (pod.freeAt > latest) continue;
      const start = Math.max(a, pod.freeAt);
      const gap = start - pod.freeAt;
      if (gap * pp <= rebootUsd) {
        options.push({ usd: (gap + d) * pp, apply: () => (pod.freeAt = start + d) });
      } else {
        options.push({
          usd: rebootUsd + d * pp,
          apply: () => {
            closeRun(pod);
            podRuns++;
            pod.runStart = a - boot;
            pod.freeAt = a + d;
          },
        });
      }
    }
    if (pods.length < model.maxPods) {
      options.push({
        usd: rebootUsd + d * pp,
        apply: () => {
          podRuns++;
          pods.push({ runStart: a - boot, freeAt: a + d });
        },
      });
    }
    const coldS = drawColdStart(model, Rng.stream(seed, 'attempt', job.id * 16));
    const warm = workers
      .filter((w) => w.freeAt <= a && a - w.freeAt <= model.serverlessIdleTimeoutS)
      .sort((x, y) => y.freeAt - x.freeAt)[0];
    if (warm) options.push({ usd: (a - warm.freeAt + d) * ps, apply: () => (warm.freeAt = a + d) });
    else {
      const live = workers.filter((w) => w.freeAt + model.serverlessIdleTimeoutS > a - coldS).length;
      if (live < model.serverlessMaxWorkers) {
        options.push({
          usd: (coldS + d + model.serverlessIdleTimeoutS) * ps,
          apply: () => workers.push({ createdAt: a - coldS, freeAt: a + d }),
        });
      }
    }
    if (options.length === 0) {
      // Nothing can start it within W: the pod that frees first takes it (late).
      lateJobs++;
      if (pods.length === 0) {
        podRuns++;
        pods.push({ runStart: a - boot, freeAt: a + d });
      } else {
        const pod = pods.reduce((x, y) => (y.freeAt < x.freeAt ? y : x));
        pod.freeAt = Math.max(a, pod.freeAt) + d;
      }
      continue;
    }
    options.reduce((x, y) => (y.usd < x.usd ? y : x)).apply();
  }
  for (const pod of pods) closeRun(pod);
  for (const worker of workers) closeWorker(worker);
  return { costUsd: podUsd + serverlessUsd, podUsd, serverlessUsd, lateJobs, podRuns };
}
