/** The candidate grid: composited thumbnails, best first, one signal each (rank, best, match); the raw scores in a details view. */
import { signalLine, type CandidateSignal, type RgbaImage } from './core';

export interface CardData {
  index: number;
  seed: number;
  scores: Record<string, number>;
  image: RgbaImage;
  /** Rank, best mark and match (core's candidateSignals); absent before the job's summary. */
  signal?: CandidateSignal;
}

/** The score shown first on a card (the ranking itself comes from the engine's summary). */
const MAIN_SCORES = ['total', 'clip_score', 'alignment', 'coherence', 'coherence_analytic'];

function formatScores(scores: Record<string, number>): string {
  const keys = Object.keys(scores).sort((a, b) => (MAIN_SCORES.indexOf(a) + 1 || 99) - (MAIN_SCORES.indexOf(b) + 1 || 99));
  return keys.map((k) => `${k} ${scores[k]!.toFixed(3)}`).join(' · ') || 'no scores';
}

export function renderGrid(grid: HTMLElement, cards: CardData[], order: number[], selected: number | null, onSelect: (index: number) => void): void {
  grid.replaceChildren();
  order.forEach((index, rank) => {
    const c = cards.find((x) => x.index === index);
    if (!c) return;
    const card = document.createElement('button');
    card.className = 'card';
    card.dataset.index = String(c.index);
    card.setAttribute('aria-pressed', String(c.index === selected));
    const canvas = document.createElement('canvas');
    canvas.width = c.image.width;
    canvas.height = c.image.height;
    canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(c.image.data), c.image.width, c.image.height), 0, 0);
    const meta = document.createElement('div');
    meta.className = 'meta';
    const r = document.createElement('span');
    r.className = 'rank';
    r.textContent = `${c.signal ? signalLine(c.signal) : `#${rank + 1}`} · seed ${c.seed}`;
    if (c.signal?.best) card.dataset.best = 'true';
    // The raw metrics, for whoever wants them: folded away by default.
    const details = document.createElement('details');
    details.className = 'scores';
    const summary = document.createElement('summary');
    summary.textContent = 'details';
    const s = document.createElement('div');
    s.textContent = formatScores(c.scores);
    details.append(summary, s);
    meta.append(r, details);
    card.append(canvas, meta);
    card.addEventListener('click', () => onSelect(c.index));
    grid.append(card);
  });
}
