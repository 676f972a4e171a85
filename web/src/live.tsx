/**
 * Live state shared by every page: the event stream, which parts of the data changed ("topics", so pages
 * refetch only what an event touched), job progress as it streams in, and the fleet events seen on this page.
 * Snapshots are still refreshed on a timer: with several service instances, an instance streams only its own
 * events, so the timer is what shows work done elsewhere.
 */
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, request } from './api';
import { EventStream, type StreamState } from './sse';
import type { FleetEvent, JobProgress } from './types';

export type Topic = 'jobs' | 'fleet' | 'cost';
const ALL_TOPICS: Topic[] = ['jobs', 'fleet', 'cost'];

function topicsOf(type: string): Topic[] {
  if (type === 'reset') return ALL_TOPICS;
  if (type === 'jobProgress') return [];
  if (type === 'jobCompleted' || type === 'jobFailed') return ['jobs', 'fleet', 'cost'];
  if (type.startsWith('job')) return ['jobs', 'fleet'];
  if (type === 'costUpdated' || type === 'budgetExceeded') return ['cost'];
  if (type === 'podTerminated' || type === 'podFailed') return ['fleet', 'cost'];
  return ['fleet'];
}

/** Fleet events worth a line in "recent events" (progress and queue churn are not). */
export const FLEET_EVENT_TYPES = new Set([
  'podSpawned',
  'podReady',
  'podTerminated',
  'podFailed',
  'orphanFound',
  'budgetExceeded',
  'workerChanged',
  'jobFailed',
]);

interface LiveValue {
  versions: Record<Topic, number>;
  progress: Map<string, JobProgress>;
  streamState: StreamState;
  liveEvents: FleetEvent[];
  /** Mark topics stale after an action of our own (spawn, cancel...) instead of waiting for its event. */
  touch: (...topics: Topic[]) => void;
}

const LiveContext = createContext<LiveValue>({
  versions: { jobs: 0, fleet: 0, cost: 0 },
  progress: new Map(),
  streamState: 'connecting',
  liveEvents: [],
  touch: () => undefined,
});

export function useLive(): LiveValue {
  return useContext(LiveContext);
}

function progressOf(value: unknown): JobProgress | null {
  if (typeof value === 'number') return { value, max: 100, percent: value <= 1 ? value * 100 : value };
  if (value && typeof value === 'object' && 'percent' in value) return value as JobProgress;
  return null;
}

export function LiveProvider({ children }: { children: ComponentChildren }) {
  const [versions, setVersions] = useState<Record<Topic, number>>({ jobs: 0, fleet: 0, cost: 0 });
  const [progress, setProgress] = useState<Map<string, JobProgress>>(new Map());
  const [streamState, setStreamState] = useState<StreamState>('connecting');
  const [liveEvents, setLiveEvents] = useState<FleetEvent[]>([]);
  const pending = useRef(new Set<Topic>());
  const flushTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const touch = useCallback((...topics: Topic[]) => {
    for (const topic of topics) pending.current.add(topic);
    if (flushTimer.current) return;
    // Events come in bursts (a job: queued, started, completed): one refetch per burst.
    flushTimer.current = setTimeout(() => {
      flushTimer.current = null;
      const stale = [...pending.current];
      pending.current.clear();
      setVersions((old) => {
        const next = { ...old };
        for (const topic of stale) next[topic] += 1;
        return next;
      });
    }, 250);
  }, []);

  useEffect(() => {
    const stream = new EventStream({
      url: '/api/events',
      onState: (state) => {
        setStreamState(state);
        // Back after a gap: whatever happened meanwhile may not be replayed to this connection.
        if (state === 'live') touch(...ALL_TOPICS);
      },
      onMessage: (message) => {
        let data: FleetEvent;
        try {
          data = JSON.parse(message.data) as FleetEvent;
        } catch {
          return;
        }
        const type = message.event !== 'message' ? message.event : data.type;
        if (type === 'hello') return;
        if (type === 'jobProgress' && typeof data.jobId === 'string') {
          const value = progressOf(data.progress ?? data);
          if (value) setProgress((old) => new Map(old).set(data.jobId as string, value));
          return;
        }
        touch(...topicsOf(type));
        if (FLEET_EVENT_TYPES.has(type)) {
          setLiveEvents((old) => [{ ...data, type, id: message.id ?? data.id }, ...old].slice(0, 100));
        }
      },
    });
    // The page's first snapshots go first: a browser opens at most 6 connections to a host, and the stream
    // holds one for good. Whatever happens in between is caught by the refetch when the stream goes live.
    const startTimer = setTimeout(() => stream.start(), 400);
    const onVisible = () => {
      if (document.visibilityState === 'visible') touch(...ALL_TOPICS);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearTimeout(startTimer);
      stream.stop();
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [touch]);

  const value = useMemo(
    () => ({ versions, progress, streamState, liveEvents, touch }),
    [versions, progress, streamState, liveEvents, touch],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export interface Resource<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/**
 * GETs `path` now, again whenever one of `topics` changes, and every `pollMs` while the tab is visible.
 * `path` null = nothing to fetch. Keeps the last good data on a failed refresh (the error is shown beside it).
 */
export function useResource<T>(path: string | null, topics: Topic[], pollMs = 10_000): Resource<T> {
  const { versions } = useLive();
  // Kept with the path it answers, so a page that switches path (another job) never shows the last one's data.
  const [data, setData] = useState<{ path: string; body: T } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [manual, setManual] = useState(0);
  const version = topics.map((topic) => versions[topic]).join(',');

  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    setLoading(true);
    request<T>(path, { signal: controller.signal })
      .then((body) => {
        setData({ path, body });
        setError(null);
      })
      .catch((caught: unknown) => {
        if ((caught as Error).name === 'AbortError') return;
        setError(caught instanceof ApiError ? caught : new ApiError(0, String(caught), null));
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [path, version, manual]);

  useEffect(() => {
    if (path === null || pollMs <= 0) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') setManual((n) => n + 1);
    }, pollMs);
    return () => clearInterval(timer);
  }, [path, pollMs]);

  const reload = useCallback(() => setManual((n) => n + 1), []);
  return { data: data && data.path === path ? data.body : null, error, loading, reload };
}
