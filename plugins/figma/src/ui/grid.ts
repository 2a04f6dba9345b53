/** The candidate grid: composited thumbnails, rank and reward scores, best first. */
import type { RgbaImage } from './core';

export interface CardData {
  index: number;
  seed: number;
  scores: Record<string, number>;
  image: RgbaImage;
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
    r.textContent = `#${rank + 1} · seed ${c.seed}`;
    const s = document.createElement('div');
    s.className = 'scores';
    s.textContent = formatScores(c.scores);
    meta.append(r, s);
    card.append(canvas, meta);
    card.addEventListener('click', () => onSelect(c.index));
    grid.append(card);
  });
}
