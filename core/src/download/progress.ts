/** One overall progress figure for a pull: bytes on disk over bytes expected, speed and ETA. */

export interface PullProgress {
  /** Bytes of the pack on disk (finished files, resumed parts and what is arriving). */
  done: number;
  /** Expected bytes; grows while sizes the catalog does not list are learned from the server. */
  total: number;
  /** False while some file's size is still unknown. */
  totalKnown: boolean;
  filesDone: number;
  filesTotal: number;
  /** Recent speed over the last few seconds (bytes/s), 0 before the first sample. */
  bytesPerSecond: number;
  /** Seconds left at the recent speed, null when unknown. */
  etaSeconds: number | null;
}

export class ProgressMeter {
  private readonly sizes = new Map<string, number | null>();
  private readonly have = new Map<string, number>();
  private readonly finished = new Set<string>();
  private readonly samples: { t: number; bytes: number }[] = [];
  private fetched = 0;
  private lastEmit = 0;

  constructor(
    private readonly emit: ((p: PullProgress) => void) | undefined,
    private readonly intervalMs = 100,
    private readonly windowMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  addFile(path: string, size: number | null, have: number): void {
    this.sizes.set(path, size);
    this.have.set(path, have);
  }

  setSize(path: string, size: number): void {
    this.sizes.set(path, size);
  }

  /** `delta` may be negative when a server ignores a range and the file restarts. */
  bytes(path: string, delta: number): void {
    this.have.set(path, (this.have.get(path) ?? 0) + delta);
    if (delta > 0) this.fetched += delta;
    this.tick(false);
  }

  reset(path: string): void {
    this.have.set(path, 0);
    this.tick(false);
  }

  fileDone(path: string, size: number): void {
    this.sizes.set(path, size);
    this.have.set(path, size);
    this.finished.add(path);
    this.tick(true);
  }

  snapshot(): PullProgress {
    const t = this.now();
    this.samples.push({ t, bytes: this.fetched });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    const rate = dt > 0.2 ? (this.fetched - first.bytes) / dt : 0;
    let done = 0;
    let total = 0;
    let known = true;
    for (const [path, size] of this.sizes) {
      const h = Math.max(0, this.have.get(path) ?? 0);
      done += size == null ? h : Math.min(h, size);
      if (size == null) {
        known = false;
        total += h;
      } else total += size;
    }
    const eta = known && rate > 0 ? Math.max(0, (total - done) / rate) : null;
    return { done, total, totalKnown: known, filesDone: this.finished.size, filesTotal: this.sizes.size, bytesPerSecond: rate, etaSeconds: eta };
  }

  tick(force: boolean): void {
    if (!this.emit) return;
    const t = this.now();
    if (!force && t - this.lastEmit < this.intervalMs) return;
    this.lastEmit = t;
    this.emit(this.snapshot());
  }
}
