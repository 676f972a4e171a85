import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { ApiError } from '../api';
import { usd } from '../format';

export function ProgressBar({ percent, label }: { percent: number | null; label: string }) {
  // An unknown amount (a pod booting with no estimate) is an indeterminate <progress>, not a fake number.
  if (percent === null) return <progress class="bar" aria-label={label} />;
  const value = Math.max(0, Math.min(100, percent));
  return (
    <span class="bar-wrap">
      <progress class="bar" max={100} value={value} aria-label={label} />
      <span class="bar-text">{Math.round(value)}%</span>
    </span>
  );
}

/** Spend against a limit: a <meter> (so assistive tech reads it) with the numbers beside it. */
export function BudgetGauge({ spent, limit }: { spent: number; limit: number | null }) {
  if (!limit) {
    return (
      <div class="gauge" data-testid="budget-gauge">
        <div class="gauge-figures">
          <strong>{usd(spent)}</strong> spent today · no daily budget set
        </div>
      </div>
    );
  }
  const ratio = spent / limit;
  return (
    <div class={`gauge ${ratio >= 1 ? 'over' : ratio >= 0.8 ? 'near' : ''}`} data-testid="budget-gauge">
      <meter
        min={0}
        max={limit}
        low={limit * 0.8}
        high={limit * 0.99}
        optimum={0}
        value={Math.min(spent, limit)}
        aria-label="Today's cloud spend against the daily budget"
      />
      <div class="gauge-figures">
        <strong>{usd(spent)}</strong> of {usd(limit)} today (
        {ratio > 0 && ratio < 0.01 ? '<1' : Math.round(ratio * 100)}%)
      </div>
    </div>
  );
}

export function Badge({ value }: { value: string }) {
  return <span class={`badge badge-${value}`}>{value}</span>;
}

export function ErrorNote({
  error,
  prefix,
}: {
  error: ApiError | Error | null | undefined;
  prefix?: string;
}) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {prefix ? `${prefix}: ` : ''}
      {error.message}
    </p>
  );
}

export function Card({
  title,
  children,
  id,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  id?: string;
  actions?: ComponentChildren;
}) {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section class="card" aria-labelledby={headingId} id={id}>
      <div class="card-head">
        <h2 id={headingId}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

/**
 * A modal confirmation on the native <dialog>: focus moves into it, Escape cancels, focus returns after.
 * The safe choice (Cancel) has the focus first.
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  // One id per dialog: a page with two (Controls: shut down all, terminate one) must name each by its own title.
  const titleId = `confirm-title-${useId()}`;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={props.onCancel} class="confirm">
      <h2 id={titleId}>{props.title}</h2>
      <div>{props.children}</div>
      <div class="row end">
        <button type="button" autofocus onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** Re-renders every `ms` (countdowns, uptimes between snapshots). */
export function useTicker(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms, setNow]);
  return now;
}
