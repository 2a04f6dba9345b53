/**
 * End to end with real GIMP 3.0: a Debian trixie root (plugins/gimp-bridge/scripts/setup-gimp-chroot.sh, made once and
 * reused), the plug-in installed by the documented installer, `byteedit serve` with the fixture
 * pack on a random loopback port, and gimp-console-3.0 in batch mode calling the three procedures
 * on a PNG with a (soft) selection. GIMP's exit code says nothing about a failed procedure, so the
 * batch script records each returned status and the layers, and this test checks pixels, masks
 * and offsets against what the bridge produced, and the layers and GIMP's own composite (what the
 * user sees) against what the CLI makes on the CPU for the same request
 * (test/reference/cpu-reference.ts).
 *
 * Needs root (chroot). BYTEEDIT_SKIP_GIMP=1 skips it explicitly; otherwise a missing prerequisite fails.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { candidateSignals, contextRegion, cropImage, decodeImage, encodePng, preferenceCrop, rect, type CanvasSpace } from '@byteedit/core';
import { readPreferences } from '../../../core/src/preferences/node-writer';
import { cliReference, compareRgba, describeDiff, FIXTURE_PACK, type ReferenceCandidate, type ReferenceRequest } from '../../../test/reference/cpu-reference';
import { buildCli, startChildBridge, PACKAGE_DIR, type ChildBridge } from './engines';
import { http, sleep } from './helpers';

const REPO = resolve(PACKAGE_DIR, '../..');
const ROOT = process.env.GIMP_ROOT ?? join(REPO, '.cache', 'gimp-root');
const W = 160;
const H = 120;

interface LayerInfo {
  name: string;
  x: number;
  y: number;
  width: number;
  height: number;
  visible: boolean;
  rgba: string;
  mask: string | null;
  /** Layers with a mask: the image as GIMP composites it with this layer the only candidate visible (image-sized RGBA). */
  composite?: string;
}
interface ImageInfo {
  width: number;
  height: number;
  layers: LayerInfo[];
}
interface Run {
  name: string;
  status: string;
  error: string | null;
  before: ImageInfo;
  after: ImageInfo;
  then?: { status: string; error: string | null; after: ImageInfo };
  /** The image's selection after the call (Y u8, image-sized), for runs that select. */
  selection?: string;
}

/** A small scene: sky gradient, ground, a sun disk and some texture, so crops are recognisable. */
function scene(): { width: number; height: number; data: Uint8ClampedArray } {
  const data = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 4;
      const sun = Math.hypot(x - 80, y - 60) < 22;
      const ground = y > 85;
      const tex = ((x * 13) ^ (y * 7)) & 15;
      data[o] = sun ? 235 : ground ? 60 + tex : 90 + x / 4;
      data[o + 1] = sun ? 190 : ground ? 120 + tex : 150 + y / 3;
      data[o + 2] = sun ? 40 : ground ? 50 : 230 - tex;
      data[o + 3] = 255;
    }
  }
  return { width: W, height: H, data };
}

const maybe = process.env.BYTEEDIT_SKIP_GIMP === '1' ? describe.skip : describe;

maybe('GIMP 3 plug-in against a real GIMP 3.0 and the bridge', () => {
  jest.setTimeout(600_000);
  let bridge: ChildBridge;
  let work: string;
  let inside: string;
  let runs: Record<string, Run>;
  let installOutput: string;
  let killedJob: string | null = null;

  /** Plug-in processes (byteedit.py) running inside the GIMP root: the ones this test's GIMP started. */
  function pluginPids(): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        if (cmd.includes(`${inside}/profile/plug-ins/byteedit/byteedit.py`) && readlinkSync(`/proc/${entry}/root`) === ROOT) pids.push(Number(entry));
      } catch {
        // The process ended while we looked.
      }
    }
    return pids;
  }

  /** Waits for the job with `prompt` to run on the bridge, then kills the plug-in process; returns the job id. */
  async function killPluginDuring(prompt: string, gimpExited: Promise<unknown>): Promise<string | null> {
    let done = false;
    void gimpExited.then(() => (done = true));
    while (!done) {
      const list = (await http(bridge.port, '/v1/jobs', { headers: auth() })).json<{ jobs: { id: string; state: string }[] }>().jobs;
      for (const j of list.filter((x) => x.state === 'running')) {
        const job = (await http(bridge.port, `/v1/jobs/${j.id}`, { headers: auth() })).json<{ request: { prompt?: string }; progress: { done?: number } }>();
        if (job.request.prompt === prompt && (job.progress.done ?? 0) > 0) {
          for (const pid of pluginPids()) process.kill(pid, 'SIGKILL');
          return j.id;
        }
      }
      await sleep(50);
    }
    return null;
  }

  const picture = scene();

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'usr', 'bin', 'gimp-console-3.0')) || !existsSync(join(ROOT, 'usr', 'bin', 'Xvfb'))) {
      execFileSync('bash', [join(REPO, 'plugins', 'gimp-bridge', 'scripts', 'setup-gimp-chroot.sh')], { stdio: 'inherit', env: { ...process.env, GIMP_ROOT: ROOT }, timeout: 600_000 });
    }
    buildCli();
    mkdirSync(join(ROOT, 'work'), { recursive: true });
    work = mkdtempSync(join(ROOT, 'work', 'byteedit-e2e-'));
    inside = `/work/${basename(work)}`;
    mkdirSync(join(work, 'config'));
    mkdirSync(join(work, 'profile'));
    writeFileSync(join(work, 'in.png'), encodePng(picture));
    copyFileSync(join(__dirname, 'gimp', 'e2e_batch.py'), join(work, 'e2e_batch.py'));

    // The documented installer asks GIMP for its folder; GIMP runs in the chroot, so it answers
    // with the chroot's path: check that answer, then install to the same folder seen from here.
    const wrapper = join(work, 'gimp-console.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec chroot '${ROOT}' env HOME=/root GIMP3_DIRECTORY='${inside}/profile' gimp-console-3.0 "$@"\n`);
    chmodSync(wrapper, 0o755);
    const installer = join(PACKAGE_DIR, 'scripts', 'install-gimp-plugin.mjs');
    installOutput = execFileSync(process.execPath, [installer, '--gimp', wrapper, '--dry-run'], { encoding: 'utf8' });
    installOutput += execFileSync(process.execPath, [installer, '--dir', join(work, 'profile', 'plug-ins')], { encoding: 'utf8' });

    bridge = await startChildBridge(['--record-preferences', join(work, 'prefs')], join(work, 'config'));
    const sel = [55, 35, 50, 50];
    const spec = {
      image: `${inside}/in.png`,
      runs: [
        { name: 'edit', procedure: 'python-fu-byteedit-edit-selection', select: sel, feather: 8, args: { prompt: 'a blue ball', candidates: 2, steps: 2, seed: 5 } },
        { name: 'erase', procedure: 'python-fu-byteedit-erase-selection', select: [20, 90, 30, 20], args: { steps: 2, seed: 9 } },
        // Keep Candidate on the second-ranked layer, with "Keep my choice for training" ticked.
        { name: 'keep', procedure: 'python-fu-byteedit-edit-selection', select: sel, args: { prompt: 'a yellow kite', candidates: 3, steps: 2, seed: 8 }, then: { procedure: 'python-fu-byteedit-keep-candidate', layer: 1, args: { 'record-choice': true } } },
        { name: 'offset-layer', procedure: 'python-fu-byteedit-erase-selection', layer_offset: [12, 6], select: [70, 50, 30, 24], args: { steps: 2, seed: 4 } },
        { name: 'grayscale', procedure: 'python-fu-byteedit-erase-selection', grayscale: true, select: [70, 50, 30, 24], args: { steps: 2, seed: 4 } },
        { name: 'expand', procedure: 'python-fu-byteedit-expand-canvas', args: { 'margin-left': 0, 'margin-top': 16, 'margin-right': 32, 'margin-bottom': 0, steps: 2, seed: 3 } },
        { name: 'no-selection', procedure: 'python-fu-byteedit-erase-selection', args: {} },
        { name: 'bad-token', procedure: 'python-fu-byteedit-erase-selection', select: sel, bridge_file: JSON.stringify({ port: bridge.port, token: 'not-the-token' }) },
        { name: 'not-running', procedure: 'python-fu-byteedit-erase-selection', select: sel, bridge_file: JSON.stringify({ port: 1, token: bridge.token }) },
        // The core's test hook (the bridge runs with BYTEEDIT_TEST_HOOKS=1) kills the engine worker mid-job.
        { name: 'server-error', procedure: 'python-fu-byteedit-edit-selection', select: sel, args: { prompt: '__byteedit_crash__', steps: 150, candidates: 2 } },
        // Killed mid-job from outside, as GIMP does when the user presses cancel on the progress bar.
        { name: 'cancelled', procedure: 'python-fu-byteedit-edit-selection', select: sel, args: { prompt: 'cancel me', candidates: 8, steps: 150, seed: 1 } },
      ],
    };
    writeFileSync(join(work, 'spec.json'), JSON.stringify(spec));
    const started = Date.now();
    const gimp = spawn(
      'chroot',
      [ROOT, 'env', 'HOME=/root', `GIMP3_DIRECTORY=${inside}/profile`, `BYTEEDIT_CONFIG_DIR=${inside}/config`, `BYTEEDIT_E2E_DIR=${inside}`, 'gimp-console-3.0', '-i', '--batch-interpreter=python-fu-eval', '-b', `exec(open('${inside}/e2e_batch.py').read())`, '--quit'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    gimp.stdout.on('data', (d: Buffer) => (log += d.toString()));
    gimp.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => gimp.on('exit', (code) => resolve(code)));
    const timer = setTimeout(() => gimp.kill('SIGKILL'), 300_000);
    killedJob = await killPluginDuring('cancel me', exited);
    const code = await exited;
    clearTimeout(timer);
    if (!existsSync(join(work, 'report.json'))) throw new Error(`GIMP batch run wrote no report (exit ${code}):\n${log}`);
    process.stdout.write(`GIMP batch run: ${Date.now() - started} ms\n`);
    const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as { runs: Run[] };
    runs = Object.fromEntries(report.runs.map((r) => [r.name, r]));

    // The dialog path: GIMP's GUI build under Xvfb, procedures called in INTERACTIVE mode; the
    // plug-in's test hook presses OK on its dialog (pre-filled from the config like a last-used run).
    writeFileSync(
      join(work, 'spec-gui.json'),
      JSON.stringify({
        image: `${inside}/in.png`,
        runs: [{ name: 'dialog-edit', procedure: 'python-fu-byteedit-edit-selection', interactive: true, select: sel, args: { prompt: 'a green hat', candidates: 1, steps: 2, seed: 11 } }],
      }),
    );
    const guiStarted = Date.now();
    const gui = spawn(
      'chroot',
      [ROOT, 'env', 'HOME=/root', `GIMP3_DIRECTORY=${inside}/profile`, `BYTEEDIT_CONFIG_DIR=${inside}/config`, `BYTEEDIT_E2E_DIR=${inside}`, 'BYTEEDIT_E2E_SPEC=spec-gui.json', 'BYTEEDIT_TEST_DIALOG=accept', 'xvfb-run', '-a', 'gimp-3.0', '-i', '--batch-interpreter=python-fu-eval', '-b', `exec(open('${inside}/e2e_batch.py').read())`, '--quit'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let guiLog = '';
    gui.stdout.on('data', (d: Buffer) => (guiLog += d.toString()));
    gui.stderr.on('data', (d: Buffer) => (guiLog += d.toString()));
    const guiTimer = setTimeout(() => gui.kill('SIGKILL'), 180_000);
    const guiCode = await new Promise<number | null>((resolve) => gui.on('exit', (c) => resolve(c)));
    clearTimeout(guiTimer);
    if (!existsSync(join(work, 'report-gui.json'))) throw new Error(`GIMP GUI run wrote no report (exit ${guiCode}):\n${guiLog}`);
    process.stdout.write(`GIMP GUI (Xvfb) run: ${Date.now() - guiStarted} ms\n`);
    for (const r of (JSON.parse(readFileSync(join(work, 'report-gui.json'), 'utf8')) as { runs: Run[] }).runs) runs[r.name] = r;
  });

  afterAll(async () => {
    if (bridge) expect(await bridge.close()).toBe(0);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const auth = (): Record<string, string> => ({ Authorization: `Bearer ${bridge.token}` });

  async function jobsByMode(mode: string): Promise<{ id: string; request: { width: number; height: number; mode: string }; candidates: { index: number; seed: number; region: { x: number; y: number; width: number; height: number } }[]; summary: { canvas: { width: number; height: number }; sourceOffset: { x: number; y: number } } }[]> {
    const list = (await http(bridge.port, '/v1/jobs', { headers: auth() })).json<{ jobs: { id: string }[] }>().jobs;
    const jobs = [];
    for (const j of list) jobs.push((await http(bridge.port, `/v1/jobs/${j.id}`, { headers: auth() })).json<Awaited<ReturnType<typeof jobsByMode>>[number]>());
    return jobs.filter((j) => j.request.mode === mode);
  }

  const b64 = (s: string | null): Buffer => Buffer.from(s ?? '', 'base64');

  /** Pixels of the original picture under a layer, where the layer's mask is 0, must be the layer's own. */
  function expectKeptOutsideMask(layer: LayerInfo, original: LayerInfo): number {
    const rgba = b64(layer.rgba);
    const mask = b64(layer.mask);
    const src = b64(original.rgba);
    let kept = 0;
    const mismatches: string[] = [];
    for (let y = 0; y < layer.height; y++) {
      for (let x = 0; x < layer.width; x++) {
        if (mask[y * layer.width + x] !== 0) continue;
        const ox = layer.x - original.x + x;
        const oy = layer.y - original.y + y;
        if (ox < 0 || oy < 0 || ox >= original.width || oy >= original.height) continue;
        const a = (y * layer.width + x) * 4;
        const b = (oy * original.width + ox) * 4;
        if (Buffer.compare(rgba.subarray(a, a + 4), src.subarray(b, b + 4)) !== 0) mismatches.push(`(${x},${y})`);
        kept++;
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    return kept;
  }

  /**
   * The request the plug-in should have sent for a selection run, made here from the test's own
   * picture and the selection GIMP reported: core's contextRegion of the selection's box within
   * the layer (the rule prepare.py mirrors), the layer's pixels and the selection cropped to it.
   * Returns the CLI's CPU result for it and the crop's image origin.
   */
  async function selectionReference(run: Run, layerOffset: [number, number], r: Omit<ReferenceRequest, 'image' | 'mask' | 'pack'>): Promise<{ bySeed(seed: number): ReferenceCandidate; origin: { x: number; y: number }; size: [number, number] }> {
    const sel = b64(run.selection!);
    let [x1, y1, x2, y2] = [W, H, 0, 0];
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        if (sel[y * W + x]! > 0) [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
    const [ox, oy] = layerOffset;
    const region = contextRegion(rect(x1, y1, x2 - x1, y2 - y1), { width: W, height: H }, { within: rect(ox, oy, W, H) })!;
    const [cx1, cy1, cx2, w, h] = [region.x, region.y, region.x + region.width, region.width, region.height];
    const mask = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) mask.set(sel.subarray((cy1 + y) * W + cx1, (cy1 + y) * W + cx2), y * w);
    const image = cropImage(picture, rect(cx1 - ox, cy1 - oy, w, h));
    const ref = await cliReference({ ...r, image, mask: { width: w, height: h, data: mask }, pack: FIXTURE_PACK });
    return { bySeed: (seed) => ref.bySeed(seed), origin: { x: cx1, y: cy1 }, size: [w, h] };
  }

  /** The layer mask the plug-in should add: the compositing mask made hard (255 wherever it is > 0). */
  const hardened = (mask: Buffer): Buffer => Buffer.from(mask.map((v) => (v > 0 ? 255 : 0)));

  /**
   * The layer is the reference candidate of its seed: at the crop's origin plus the candidate's
   * region, with the same pixels. Bridge (onnxruntime-node CPU) vs CLI (CPU): measured identical.
   * And so is what the user sees over that region: GIMP's composite of the image with this layer
   * through its layer mask (the patch carries the soft edge; the mask must not blend it again).
   */
  function expectLayerIsReference(label: string, layer: LayerInfo, reference: { bySeed(seed: number): ReferenceCandidate; origin: { x: number; y: number } }, image: ImageInfo): void {
    const seed = Number(/· seed (\d+)$/.exec(layer.name)![1]);
    const ref = reference.bySeed(seed);
    expect([layer.x, layer.y, layer.width, layer.height]).toEqual([reference.origin.x + ref.region.x, reference.origin.y + ref.region.y, ref.region.width, ref.region.height]);
    const d = compareRgba({ width: layer.width, height: layer.height, data: b64(layer.rgba) }, ref.patch);
    process.stdout.write(`${describeDiff(`gimp ${label} seed ${seed} vs CLI`, d)}\n`);
    expect(d.max).toBeLessThanOrEqual(1);
    expect(d.mean).toBeLessThanOrEqual(0.05);
    expect(layer.composite).toBeDefined();
    const shown = cropImage({ width: image.width, height: image.height, data: new Uint8ClampedArray(b64(layer.composite!)) }, rect(layer.x, layer.y, layer.width, layer.height));
    const c = compareRgba(shown, ref.patch);
    process.stdout.write(`${describeDiff(`gimp ${label} seed ${seed} composite vs CLI`, c)}\n`);
    expect(c.max).toBeLessThanOrEqual(1);
    expect(c.mean).toBeLessThanOrEqual(0.05);
  }

  it('installs with the documented installer, which asks GIMP for its folder', () => {
    expect(installOutput).toContain(`GIMP plug-ins folder: ${inside}/profile/plug-ins (reported by`);
    expect(existsSync(join(work, 'profile', 'plug-ins', 'byteedit', 'byteedit.py'))).toBe(true);
  });

  it('Edit Selection adds one masked layer per candidate at the right offset and leaves the original alone', async () => {
    const run = runs.edit!;
    expect([run.status, run.error]).toEqual(['success', null]);
    const { before, after } = run;
    expect(after.layers).toHaveLength(3);
    const original = after.layers[2]!;
    expect(original).toEqual(before.layers[0]);
    const [best, second] = after.layers as [LayerInfo, LayerInfo];
    expect([best.visible, second.visible]).toEqual([true, false]);
    // Core's one name format, best ranked first, with the match (GIMP's layer names are its only
    // candidate UI): `edit #1 “a blue ball” · match M · seed N`, M from core's candidateSignals.
    expect(best.name).toMatch(/^edit #1 “a blue ball” · match \d{1,3} · seed \d+$/);
    expect(second.name).toMatch(/^edit #2 “a blue ball” · match \d{1,3} · seed \d+$/);
    const [job] = await jobsByMode('edit');
    const signals = candidateSignals(job!.summary as unknown as { ranking: number[]; rankScores: number[] });
    expect([best, second].map((l) => Number(/· match (\d+) ·/.exec(l.name)![1]))).toEqual(signals.map((s) => s.match));
    // The region sent is core's context region (selectionReference): for this 160x120 picture,
    // smaller than the rule's 512 px minimum side, that is all of it.
    // The truth: each layer, and the image shown with it, is the CLI's CPU result for the same
    // request (context crop) and seed.
    const reference = await selectionReference(run, [0, 0], { mode: 'edit', prompt: 'a blue ball', candidates: 2, steps: 2, seed: 5 });
    expect([job!.request.width, job!.request.height]).toEqual(reference.size);
    for (const layer of [best, second]) {
      const c = job!.candidates.find((k) => layer.name.endsWith(`· seed ${k.seed}`))!;
      expect([layer.width, layer.height]).toEqual([c.region.width, c.region.height]);
      const patch = await http(bridge.port, `/v1/jobs/${job!.id}/results/${c.index}?part=patch&format=raw`, { headers: auth() });
      const mask = await http(bridge.port, `/v1/jobs/${job!.id}/results/${c.index}?part=mask&format=raw`, { headers: auth() });
      expect(b64(layer.rgba).equals(patch.body)).toBe(true);
      // The compositing mask is soft (the feathered selection); the patch already carries that edge.
      expect(mask.body.some((v) => v > 0 && v < 255)).toBe(true);
      expectLayerIsReference('edit', layer, reference, after);
      // So the layer mask is that mask made hard: it blends nothing a second time.
      expect(b64(layer.mask).equals(hardened(mask.body))).toBe(true);
      // Right offset: wherever the mask keeps the source, the layer shows exactly the picture under it.
      expect(expectKeptOutsideMask(layer, original)).toBeGreaterThan(0);
      // The layer covers the selection (55..105 x 35..85) and its mask is on inside it.
      expect(layer.x).toBeLessThanOrEqual(55);
      expect(layer.y).toBeLessThanOrEqual(35);
      expect(layer.x + layer.width).toBeGreaterThanOrEqual(105);
      expect(layer.y + layer.height).toBeGreaterThanOrEqual(85);
      const m = b64(layer.mask);
      expect(m[(60 - layer.y) * layer.width + (80 - layer.x)]).toBe(255);
    }
  });

  it('Erase Selection adds a masked layer over the selected area', async () => {
    const run = runs.erase!;
    expect([run.status, run.error]).toEqual(['success', null]);
    expect(run.after.layers).toHaveLength(2);
    expect(run.after.layers[1]).toEqual(run.before.layers[0]);
    const layer = run.after.layers[0]!;
    expect(layer.mask).not.toBeNull();
    expect(layer.x).toBeLessThanOrEqual(20);
    expect(layer.x + layer.width).toBeGreaterThanOrEqual(50);
    expect(expectKeptOutsideMask(layer, run.after.layers[1]!)).toBeGreaterThan(0);
    expectLayerIsReference('erase', layer, await selectionReference(run, [0, 0], { mode: 'erase', candidates: 1, steps: 2, seed: 9 }), run.after);
  });

  it('Keep Candidate keeps the chosen layer, removes the other candidates and has the bridge record the choice', async () => {
    const run = runs.keep!;
    expect([run.status, run.error]).toEqual(['success', null]);
    expect(run.after.layers).toHaveLength(4);
    const kept = run.after.layers[1]!;
    expect([run.then!.status, run.then!.error]).toEqual(['success', null]);
    expect(run.then!.after.layers.map((l) => l.name)).toEqual([kept.name, run.before.layers[0]!.name]);
    expect(run.then!.after.layers[0]!.visible).toBe(true);
    expect(run.then!.after.layers[1]).toEqual(run.before.layers[0]);
    const { records, skipped } = await readPreferences(join(work, 'prefs'));
    expect(skipped).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ host: 'gimp', mode: 'edit', prompt: 'a yellow kite' })]);
    expect(records[0]!.rejected).toHaveLength(2);
    // The chosen picture is the kept layer's candidate: its full result, cropped around the edit.
    const chosen = decodeImage(readFileSync(join(work, 'prefs', records[0]!.chosen)));
    const job = (await jobsByMode('edit')).find((j) => (j as unknown as { request: { prompt?: string } }).request.prompt === 'a yellow kite')!;
    const c = job.candidates.find((k) => kept.name.endsWith(`· seed ${k.seed}`))!;
    const full = decodeImage((await http(bridge.port, `/v1/jobs/${job.id}/results/${c.index}?part=full`, { headers: auth() })).body);
    const crop = preferenceCrop(job.summary.canvas, rect<CanvasSpace>(c.region.x, c.region.y, c.region.width, c.region.height));
    expect(Buffer.from(chosen.data).equals(Buffer.from(cropImage(full, crop).data))).toBe(true);
  });

  it('runs from its dialog in interactive mode (GIMP GUI under Xvfb)', () => {
    const run = runs['dialog-edit']!;
    expect([run.status, run.error]).toEqual(['success', null]);
    expect(run.after.layers).toHaveLength(2);
    expect(run.after.layers[0]!.name).toContain('a green hat');
    expect(run.after.layers[0]!.mask).not.toBeNull();
    expect(run.after.layers[1]).toEqual(run.before.layers[0]);
  });

  it('places results correctly on a layer that is offset on the canvas', async () => {
    const run = runs['offset-layer']!;
    expect([run.status, run.error]).toEqual(['success', null]);
    const [layer, original] = run.after.layers as [LayerInfo, LayerInfo];
    expect([original.x, original.y, original.rgba]).toEqual([12, 6, run.before.layers[0]!.rgba]);
    expect(layer.x).toBeLessThanOrEqual(70);
    expect(layer.x + layer.width).toBeGreaterThanOrEqual(100);
    expect(expectKeptOutsideMask(layer, original)).toBeGreaterThan(0);
    // Image coordinates for the selection and the new layer, layer-local ones for the pixels read.
    expectLayerIsReference('offset layer', layer, await selectionReference(run, [12, 6], { mode: 'erase', candidates: 1, steps: 2, seed: 4 }), run.after);
  });

  it('works on grayscale images (the layer is grey + alpha, converted by GIMP)', () => {
    const run = runs.grayscale!;
    expect([run.status, run.error]).toEqual(['success', null]);
    expect(run.after.layers).toHaveLength(2);
    expect(run.after.layers[1]).toEqual(run.before.layers[0]);
    expect(run.after.layers[0]!.mask).not.toBeNull();
  });

  it('Expand Canvas grows the canvas, shifts but never repaints the original, and fills the new border', async () => {
    const run = runs.expand!;
    expect([run.status, run.error]).toEqual(['success', null]);
    expect([run.after.width, run.after.height]).toEqual([W + 32, H + 16]);
    const [layer, original] = run.after.layers as [LayerInfo, LayerInfo];
    expect([original.x, original.y]).toEqual([0, 16]);
    expect(original.rgba).toBe(run.before.layers[0]!.rgba);
    // The new layer reaches the new right and top edges.
    expect(layer.x + layer.width).toBe(W + 32);
    expect(layer.y).toBe(0);
    const mask = b64(layer.mask);
    expect(mask[0 * layer.width + (layer.width - 1)]).toBeGreaterThan(0);
    expect(expectKeptOutsideMask(layer, original)).toBeGreaterThan(0);
    // Two edges grow: the whole picture is the context (core's outpaintContext); canvas = image coordinates.
    const reference = await cliReference({ image: picture, mode: 'outpaint', expand: { left: 0, top: 16, right: 32, bottom: 0 }, candidates: 1, steps: 2, seed: 3, pack: FIXTURE_PACK });
    expectLayerIsReference('expand', layer, { bySeed: (seed) => reference.bySeed(seed), origin: { x: 0, y: 0 } }, run.after);
  });

  it('cancels the job on the bridge when GIMP kills the plug-in (the user pressed cancel), adding no layer', async () => {
    expect(killedJob).not.toBeNull();
    const run = runs.cancelled!;
    expect(run.status).not.toBe('success');
    expect(run.after.layers).toEqual(run.before.layers);
    let state = '';
    for (let i = 0; i < 100 && state !== 'cancelled'; i++) {
      state = (await http(bridge.port, `/v1/jobs/${killedJob}`, { headers: auth() })).json<{ state: string }>().state;
      if (state !== 'cancelled') await sleep(50);
    }
    expect(state).toBe('cancelled');
  });

  it('reports a missing selection, a bad token, a stopped bridge and a failed job as errors that say what to do, changing nothing', () => {
    const cases: [string, string][] = [
      ['no-selection', 'Nothing is selected'],
      ['bad-token', 'rejected the token'],
      ['not-running', 'npx byteedit serve'],
      ['server-error', 'byteedit could not edit this: the engine worker stopped'],
    ];
    for (const [name, text] of cases) {
      const run = runs[name]!;
      expect([name, run.status]).toEqual([name, 'execution-error']);
      expect(run.error).toContain(text);
      expect(run.after).toEqual(run.before);
    }
  });
});
