/**
 * The panel's entry (bundled to dist/panel.js, loaded by index.html inside Photoshop): wires the
 * Spectrum UXP widgets to an EditSession. All Photoshop and bridge work lives in the DOM-free
 * modules; this file only reads fields, shows state and keeps the token.
 */
import './polyfills';
import { checkBridge, DEFAULT_BRIDGE_URL, START_HELP } from './bridge-client';
import { candidateSignals, engineLine, signalLine } from '@byteedit/core';
import { EditSession, type Generation, type PanelMode } from './edit-session';
import { errorCode, isBridgeDown, isTokenProblem, PanelError, userMessage } from './errors';
import { checkBridgeFile, readTokenFile, rereadTokenFile } from './token-file';
import type { PhotoshopSubset, UxpSubset } from './ps-api';
import type { PixelSource } from './photoshop-adapter';

declare const require: (name: string) => unknown;

const ps = require('photoshop') as PhotoshopSubset;
const uxp = require('uxp') as UxpSubset;

type Field = HTMLElement & { value: string; disabled: boolean; selectedIndex?: number; checked?: boolean };
const $ = (id: string): Field => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`panel markup lacks #${id}`);
  return el as Field;
};

const STORE_URL = 'byteedit.bridgeUrl';
const STORE_TOKEN = 'byteedit.token';
/** "Keep my choices" (docs/preferences.md): off unless the user ticked it. */
const STORE_RECORD = 'byteedit.recordPreferences';

let session: EditSession | null = null;
let generation: Generation | null = null;
const chosen = new Set<number>();

function pickerValue(id: string, values: string[]): string {
  const el = $(id);
  if (typeof el.value === 'string' && values.includes(el.value)) return el.value;
  const i = el.selectedIndex ?? 0;
  return values[i >= 0 ? i : 0]!;
}

function intField(id: string): number | undefined {
  const raw = $(id).value.trim();
  if (raw === '') return undefined;
  const n = Number(raw);
  return Number.isInteger(n) ? n : NaN;
}

function showMessage(text: string, error = false): void {
  const m = $('message');
  m.textContent = text;
  m.className = error ? 'message error' : 'message';
}

function setBusy(busy: boolean): void {
  $('generate').disabled = busy;
  $('cancel').disabled = !busy;
  $('apply').disabled = busy || chosen.size === 0;
}

function setProgress(fraction: number, text: string): void {
  const bar = $('progress');
  bar.setAttribute('value', String(Math.round(Math.max(0, Math.min(1, fraction)) * 100)));
  $('progress-label').textContent = text;
}

async function connect(): Promise<void> {
  // The bridge writes a new token on every start: re-read the remembered bridge.json first.
  const remembered = await rereadTokenFile(uxp, localStorage).catch(() => null);
  if (remembered) {
    $('bridge-token').value = remembered.token;
    $('bridge-url').value = remembered.url;
  }
  const url = $('bridge-url').value.trim() || DEFAULT_BRIDGE_URL;
  const token = $('bridge-token').value.trim();
  localStorage.setItem(STORE_URL, url);
  localStorage.setItem(STORE_TOKEN, token);
  const bridge = { baseUrl: url, token };
  session = new EditSession(ps, bridge);
  const status = $('bridge-status');
  const help = $('bridge-help');
  try {
    // A remembered bridge.json may be left over from a bridge that was killed: say so plainly.
    if (remembered) await checkBridgeFile(remembered);
    const health = await checkBridge(bridge);
    status.textContent = `Connected (byteedit ${health.version ?? ''}, ${(health.packs ?? []).join(', ') || 'default pack'})`;
    help.hidden = true;
  } catch (err) {
    status.textContent = isBridgeDown(err) ? 'Not running' : isTokenProblem(err) ? 'Token needed' : 'Error';
    help.hidden = false;
    showMessage(userMessage(err), true);
  }
}

async function generate(): Promise<void> {
  if (!session) await connect();
  if (!session) return;
  generation = null;
  chosen.clear();
  $('thumbs').innerHTML = '';
  showMessage('');
  setBusy(true);
  try {
    const mode = pickerValue('mode', ['edit', 'erase', 'outpaint']) as PanelMode;
    const candidates = intField('candidates') ?? 1;
    const seed = intField('seed');
    if (!Number.isInteger(candidates) || candidates < 1 || candidates > 16) throw new PanelError('invalid_input', 'Candidates must be a whole number from 1 to 16.');
    if (seed !== undefined && (!Number.isInteger(seed) || seed < 0)) throw new PanelError('invalid_input', 'Seed must be a whole number of 0 or more, or empty for a random one.');
    const expand = mode === 'outpaint' ? { left: intField('expand-left') ?? 0, top: intField('expand-top') ?? 0, right: intField('expand-right') ?? 0, bottom: intField('expand-bottom') ?? 0 } : undefined;
    generation = await session.generate({
      mode,
      prompt: $('prompt').value,
      candidates,
      seed: seed ?? Math.floor(Math.random() * 2 ** 31),
      source: pickerValue('source', ['document', 'layer']) as PixelSource,
      expand,
      onProgress: setProgress,
    });
    await showThumbnails(generation);
    showMessage(`${generation.candidates.length} candidate(s) by ${engineLine(generation.summary)}. Pick one or more, then Apply.`);
  } catch (err) {
    const cancelled = errorCode(err) === 'cancelled';
    setProgress(0, cancelled ? 'Cancelled' : 'Failed');
    showMessage(cancelled ? 'Cancelled.' : userMessage(err), !cancelled);
    if (isBridgeDown(err) || isTokenProblem(err)) $('bridge-help').hidden = false;
  } finally {
    setBusy(false);
  }
}

async function showThumbnails(g: Generation): Promise<void> {
  const thumbs = $('thumbs');
  const signals = candidateSignals(g.summary);
  for (const [rank, c] of g.candidates.entries()) {
    const signal = signals.find((s) => s.index === c.index);
    const cell = document.createElement('div');
    cell.className = 'thumb';
    const img = document.createElement('img');
    img.src = await session!.thumbnail(g, c.index);
    const box = document.createElement('sp-checkbox') as Field;
    const score = c.scores && Object.keys(c.scores).length > 0 ? Object.entries(c.scores).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') : 'no score';
    box.textContent = `${signal ? signalLine(signal) : `#${rank + 1}`} · seed ${c.seed}`;
    if (rank === 0) {
      box.checked = true;
      box.setAttribute('checked', '');
      chosen.add(c.index);
    }
    box.addEventListener('change', () => {
      if (box.checked) chosen.add(c.index);
      else chosen.delete(c.index);
      $('apply').disabled = chosen.size === 0;
    });
    // The raw metrics, small, under the one signal.
    const label = document.createElement('sp-detail');
    label.textContent = score;
    cell.append(img, box, label);
    thumbs.append(cell);
  }
  $('apply').disabled = chosen.size === 0;
}

async function apply(): Promise<void> {
  if (!session || !generation || chosen.size === 0) return;
  setBusy(true);
  try {
    const indices = generation.candidates.map((c) => c.index).filter((i) => chosen.has(i));
    const result = await session.apply(generation, indices, { recordPreference: $('record-preferences').checked === true });
    const added = `Added ${result.layerIDs.length} layer(s) with masks; undo removes them in one step.`;
    showMessage(result.preference ? `${added} ${result.preference.message}` : added);
  } catch (err) {
    showMessage(userMessage(err), true);
  } finally {
    setBusy(false);
  }
}

async function readToken(): Promise<void> {
  try {
    const file = await readTokenFile(uxp, localStorage);
    if (!file) return;
    $('bridge-token').value = file.token;
    $('bridge-url').value = file.url;
    await connect();
  } catch (err) {
    showMessage(userMessage(err), true);
  }
}

function on(id: string, event: string, handler: () => Promise<void> | void): void {
  $(id).addEventListener(event, () => {
    void Promise.resolve(handler()).catch((err: unknown) => showMessage(userMessage(err), true));
  });
}

$('bridge-url').value = localStorage.getItem(STORE_URL) ?? DEFAULT_BRIDGE_URL;
$('bridge-token').value = localStorage.getItem(STORE_TOKEN) ?? '';
$('bridge-help').title = START_HELP;
on('reconnect', 'click', connect);
on('read-token', 'click', readToken);
on('generate', 'click', generate);
on('cancel', 'click', async () => {
  await session?.cancel();
});
on('apply', 'click', apply);
const record = $('record-preferences');
record.checked = localStorage.getItem(STORE_RECORD) === '1';
if (record.checked) record.setAttribute('checked', '');
on('record-preferences', 'change', () => {
  localStorage.setItem(STORE_RECORD, record.checked === true ? '1' : '0');
});
on('mode', 'change', () => {
  $('expand-margins').hidden = pickerValue('mode', ['edit', 'erase', 'outpaint']) !== 'outpaint';
});
void connect();
