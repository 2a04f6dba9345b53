/**
 * The fill benchmark as a library: a deterministic photo-like 1024x1024 image, a centred disc hole
 * of 5 %, and a timed run of patchMatchFill with default options (single-threaded). Run by
 * `npm run bench` and by models/eval/fill/bench.ts.
 */
import { createImage, createMask, type RgbaImage } from '../image/image';
import { patchMatchFill } from '../fill/index';
import * as os from 'node:os';

export function benchImage(size: number): RgbaImage {
  const data = new Uint8ClampedArray(size * size * 4);
  let s = 12345;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const noise = ((s >>> 0) % 21) - 10;
      const stripes = 40 * Math.sin(x * 0.09 + 6 * Math.sin(y * 0.013));
      const shade = (120 * y) / size;
      const band = ((x + 2 * y) >> 6) % 2 === 0 ? 30 : -30;
      const o = (y * size + x) * 4;
      data[o] = 90 + shade + stripes + noise;
      data[o + 1] = 110 + band + stripes * 0.5 + noise;
      data[o + 2] = 140 - shade * 0.5 + noise;
      data[o + 3] = 255;
    }
  }
  return createImage(size, size, data);
}

export function discMask(size: number, fraction: number) {
  const m = new Uint8Array(size * size);
  const radius = Math.sqrt((fraction * size * size) / Math.PI);
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if ((x + 0.5 - c) ** 2 + (y + 0.5 - c) ** 2 <= radius * radius) m[y * size + x] = 255;
    }
  }
  return createMask(size, size, m);
}

export async function benchFill(runs = 5, log: (line: string) => void = () => {}): Promise<Record<string, unknown>> {
  const size = 1024;
  const image = benchImage(size);
  const mask = discMask(size, 0.05);
  let holes = 0;
  for (const v of mask.data) if (v) holes++;
  await patchMatchFill(image, mask, { seed: 1 }); // warm-up (JIT)
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    await patchMatchFill(image, mask, { seed: i });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const used = process.cpuUsage(c0);
    const cpuMs = (used.user + used.system) / 1000;
    times.push(ms);
    cpu.push(cpuMs);
    log(JSON.stringify({ run: i, ms: Math.round(ms), cpuMs: Math.round(cpuMs) }));
  }
  cpu.sort((a, b) => a - b);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  return {
    bench: 'fill-1024-5pct',
    size,
    holeFraction: +(holes / (size * size)).toFixed(4),
    runs,
    medianMs: Math.round(median),
    minMs: Math.round(times[0]!),
    // CPU time of this process: the wall time on an otherwise idle core (the fill is single-threaded).
    medianCpuMs: Math.round(cpu[Math.floor(cpu.length / 2)]!),
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    loadavg: os.loadavg().map((v) => +v.toFixed(2)),
  };
}

