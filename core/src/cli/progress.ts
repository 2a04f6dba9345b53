/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal. By default it appends an
 * ETA from elapsed time and the fraction done; callers that know better (a pull's byte rate) pass
 * `{ eta: false }` and put their own ETA in the label.
 */
export class ProgressBar {
  private last = '';
  private readonly started = Date.now();
  private readonly ownEta: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    opts: { eta?: boolean } = {},
  ) {
    this.ownEta = opts.eta ?? true;
  }

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(done: number, of: number, label: string): void {
    if (!this.enabled) return;
    const width = 28;
    const frac = of > 0 ? Math.min(1, done / of) : 0;
    const filled = Math.round(frac * width);
    const secs = (Date.now() - this.started) / 1000;
    const eta = this.ownEta && frac > 0 && frac < 1 ? ` eta ${((secs / frac) * (1 - frac)).toFixed(1)}s` : '';
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${of} ${label}${eta}`;
    if (line === this.last) return;
    this.last = line;
    this.stream.write(`\r${line}\x1b[K`);
  }

  done(): void {
    if (this.enabled && this.last) this.stream.write('\r\x1b[K');
    this.last = '';
  }
}
