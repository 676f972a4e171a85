/** A binary min-heap of timed events; ties leave in insertion order, so a run is deterministic. */
export class EventQueue<T> {
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly values: T[] = [];
  private seq = 0;

  get size(): number {
    return this.values.length;
  }

  push(time: number, value: T): void {
    this.times.push(time);
    this.seqs.push(this.seq++);
    this.values.push(value);
    let i = this.values.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { time: number; value: T } | undefined {
    if (this.values.length === 0) return undefined;
    const top = { time: this.times[0], value: this.values[0] };
    const last = this.values.length - 1;
    this.swap(0, last);
    this.times.pop();
    this.seqs.pop();
    this.values.pop();
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.values.length && this.less(left, smallest)) smallest = left;
      if (right < this.values.length && this.less(right, smallest)) smallest = right;
      if (smallest === i) break;
      this.swap(i, smallest);
      i = smallest;
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    return this.times[a] < this.times[b] || (this.times[a] === this.times[b] && this.seqs[a] < this.seqs[b]);
  }

  private swap(a: number, b: number): void {
    [this.times[a], this.times[b]] = [this.times[b], this.times[a]];
    [this.seqs[a], this.seqs[b]] = [this.seqs[b], this.seqs[a]];
    [this.values[a], this.values[b]] = [this.values[b], this.values[a]];
  }
}
