/** The `byteedit` command as a user runs it: a child process, real files, exit codes. */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { encode as encodePngRaw } from 'fast-png';
import { createImage, decodeImage, encodePng, type RgbaImage } from '../core/src/index';

const REPO = resolve(__dirname, '..');
const BIN = join(REPO, 'core', 'bin', 'byteedit.js');
const FIXTURE = join(REPO, 'models', 'fixtures', 'tiny-sd-diffusers');

let dir: string;
const W = 120;
const H = 90;

function gradient(w: number, h: number): RgbaImage {
  const img = createImage(w, h);
  for (let i = 0; i < w * h; i++) img.data.set([(i % w) * 2, Math.floor(i / w) * 2, 100, 255], i * 4);
  return img;
}

function maskPng(w: number, h: number, box: [number, number, number, number] | null): Uint8Array {
  const img = createImage(w, h);
  for (let i = 0; i < w * h; i++) {
    const x = i % w;
    const y = Math.floor(i / w);
    const on = box && x >= box[0] && y >= box[1] && x < box[0] + box[2] && y < box[1] + box[3];
    img.data.set(on ? [255, 255, 255, 255] : [0, 0, 0, 255], i * 4);
  }
  return encodePng(img);
}

function run(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const base = (): string[] => ['edit', '--image', 'in.png', '--mask', 'mask.png', '--pack', FIXTURE, '--seed', '5', '--out', 'out.png', '-q'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'byteedit-cli-'));
  writeFileSync(join(dir, 'in.png'), encodePng(gradient(W, H)));
  writeFileSync(join(dir, 'mask.png'), maskPng(W, H, [40, 30, 30, 30]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  for (const f of readdirSync(dir)) if (f.startsWith('out')) rmSync(join(dir, f));
});

describe('byteedit edit', () => {
  it('writes an image of the input size, identical for the same seed, and reports JSON', () => {
    const r = run([...base(), '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { files: string[]; seeds: number[]; device: string; timings: { totalMs: number } };
    expect(info.files).toEqual([join(dir, 'out.png')]);
    expect(info.seeds).toEqual([5]);
    expect(info.device).toBe('cpu');
    const first = readFileSync(join(dir, 'out.png'));
    const img = decodeImage(new Uint8Array(first));
    expect([img.width, img.height]).toEqual([W, H]);
    expect(run(base()).code).toBe(0);
    expect(readFileSync(join(dir, 'out.png')).equals(first)).toBe(true);
    expect(run([...base().slice(0, -5), '--seed', '6', '--out', 'out.png']).code).toBe(0);
    expect(readFileSync(join(dir, 'out.png')).equals(first)).toBe(false);
  });

  it('writes OUT-1..OUT-K for K candidates, with distinct seeds', () => {
    const r = run([...base(), '--candidates', '3', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { files: string[]; seeds: number[]; scores: Record<string, number>[]; rankScores: number[] };
    expect(info.files.map((f) => f.slice(dir.length + 1))).toEqual(['out-1.png', 'out-2.png', 'out-3.png']);
    expect(new Set(info.seeds).size).toBe(3);
    // Files are written best first: the combined rank score never increases down the list.
    expect(info.scores).toHaveLength(3);
    for (let i = 1; i < 3; i++) expect(info.rankScores[i]!).toBeLessThanOrEqual(info.rankScores[i - 1]!);
    for (const f of info.files) expect(existsSync(f)).toBe(true);
  });

  it('outpaints: --expand 64,0,64,0 gives an image exactly 128 px wider with the original in place', () => {
    const r = run(['edit', '--image', 'in.png', '--mode', 'outpaint', '--expand', '64,0,64,0', '--pack', FIXTURE, '--out', 'out.png', '-q']);
    expect(r.code).toBe(0);
    const out = decodeImage(new Uint8Array(readFileSync(join(dir, 'out.png'))));
    const src = gradient(W, H);
    expect([out.width, out.height]).toEqual([W + 128, H]);
    for (let y = 0; y < H; y++) {
      const row = Buffer.from(out.data.subarray((y * out.width + 64) * 4, (y * out.width + 64 + W) * 4));
      expect(row.equals(Buffer.from(src.data.subarray(y * W * 4, (y + 1) * W * 4)))).toBe(true);
    }
  });

  it('says when the default pack is a fixture with random weights', () => {
    const r = run(['edit', '--image', 'in.png', '--mask', 'mask.png', '--out', 'out.png'], { BYTEEDIT_DEFAULT_PACK: FIXTURE });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/fixture with random weights/);
  });
});

describe('byteedit edit on a photograph (#19)', () => {
  const PHOTO = join(REPO, 'models', 'photos', 'domain', 'photo-coffee.png');
  const SMALL = join(REPO, 'models', 'packs', 'byteedit-small');
  const photoArgs = (extra: string[]): string[] => {
    const { width, height } = decodeImage(new Uint8Array(readFileSync(PHOTO)));
    writeFileSync(join(dir, 'photo-mask.png'), maskPng(width, height, [120, 80, 60, 50]));
    return ['edit', '--image', PHOTO, '--mask', 'photo-mask.png', '--mode', 'erase', '--pack', SMALL, '--seed', '2', '--out', 'out.png', ...extra];
  };

  it('erases with the fill, not the illustration-only small pack, and says which and why (--json and stderr)', () => {
    const r = run([...photoArgs(['--json'])], { BYTEEDIT_INPAINT_PACK: 'none' });
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { engine: string; route: { engine: string; reason: string; domain: { domain: string; from: string } } };
    expect(info.engine).toBe('patchmatch');
    expect(info.route).toMatchObject({ engine: 'fill', domain: { domain: 'photo', from: 'pixels' } });
    expect(info.route.reason).toMatch(/looks like a photograph .* pack byteedit-small serves illustrations only: erase with the content-aware fill/);
    const plain = run(photoArgs([]), { BYTEEDIT_INPAINT_PACK: 'none' });
    expect(plain.stderr).toMatch(/^byteedit: engine content-aware fill: the image looks like a photograph/m);
  });

  it('uses an installed erase pack instead, and --engine or --domain override the choice', () => {
    const net = run(photoArgs(['--json']), { BYTEEDIT_INPAINT_PACK: join(REPO, 'models', 'fixtures', 'tiny-migan') });
    expect(JSON.parse(net.stdout)).toMatchObject({ engine: 'inpaint', pack: { name: 'tiny-migan' } });
    const forced = run(photoArgs(['--json', '--engine', 'diffusion']), { BYTEEDIT_INPAINT_PACK: 'none' });
    expect(JSON.parse(forced.stdout)).toMatchObject({ engine: 'diffusion', route: { reason: 'engine diffusion was asked for (pack byteedit-small)' } });
    const said = run(photoArgs(['--json', '--domain', 'illustration']), { BYTEEDIT_INPAINT_PACK: 'none' });
    expect(JSON.parse(said.stdout)).toMatchObject({ engine: 'diffusion', route: { domain: { domain: 'illustration', from: 'request' } } });
  });
});

describe('byteedit edit refuses bad input: exit 2, one line naming the problem, nothing written', () => {
  const setup = (): void => {
    writeFileSync(join(dir, 'corrupt.png'), Buffer.concat([Buffer.from(readFileSync(join(dir, 'in.png'))).subarray(0, 40)]));
    writeFileSync(join(dir, 'small-mask.png'), maskPng(60, 45, [1, 1, 10, 10]));
    writeFileSync(join(dir, 'empty-mask.png'), maskPng(W, H, null));
    writeFileSync(join(dir, 'text.png'), 'not an image at all');
    const broken = join(dir, 'broken-pack');
    cpSync(FIXTURE, broken, { recursive: true });
    rmSync(join(broken, 'vae_decoder', 'model.onnx'));
    const badJson = join(dir, 'bad-json-pack');
    cpSync(FIXTURE, badJson, { recursive: true });
    const m = JSON.parse(readFileSync(join(badJson, 'pack.json'), 'utf8'));
    m.resolution.native = 'big';
    writeFileSync(join(badJson, 'pack.json'), JSON.stringify(m));
    // Erase and outpaint fall back to the model-free fill; a prompted edit has no fallback.
    const eraseOnly = join(dir, 'erase-only-pack');
    cpSync(FIXTURE, eraseOnly, { recursive: true });
    const e = JSON.parse(readFileSync(join(eraseOnly, 'pack.json'), 'utf8'));
    e.modes = ['erase'];
    writeFileSync(join(eraseOnly, 'pack.json'), JSON.stringify(e));
  };
  beforeAll(setup);

  const swap = (flag: string, value: string): string[] => {
    const a = base();
    a[a.indexOf(flag) + 1] = value;
    return a;
  };

  it.each([
    ['missing image', 'image_not_found', () => swap('--image', 'nope.png')],
    ['corrupt image', 'image_unreadable', () => swap('--image', 'corrupt.png')],
    ['not an image', 'image_unreadable', () => swap('--image', 'text.png')],
    ['mask of another size', 'mask_size_mismatch', () => swap('--mask', 'small-mask.png')],
    ['empty mask', 'mask_empty', () => swap('--mask', 'empty-mask.png')],
    ['image over the pixel cap', 'image_too_large', () => [...base(), '--max-pixels', '5000']],
    ['unknown pack folder', 'pack_not_found', () => swap('--pack', 'no-such-pack')],
    ['pack missing an ONNX file', 'pack_file_missing', () => swap('--pack', 'broken-pack')],
    ['pack.json error (with the field path)', 'pack_invalid', () => swap('--pack', 'bad-json-pack')],
    ['mode the pack does not support', 'mode_unsupported', () => [...swap('--pack', 'erase-only-pack'), '--mode', 'edit']],
    ['bad --engine', 'invalid_argument', () => [...base(), '--engine', 'magic']],
    ['bad --steps', 'invalid_argument', () => [...base(), '--steps', 'many']],
    ['bad --guidance', 'invalid_argument', () => [...base(), '--guidance', '-3']],
    ['bad --expand', 'invalid_argument', () => ['edit', '--image', 'in.png', '--mode', 'outpaint', '--expand', '1,2,3', '--out', 'out.png']],
    ['bad --mode', 'invalid_argument', () => [...base(), '--mode', 'paint']],
    ['bad --device', 'invalid_argument', () => [...base(), '--device', 'tpu']],
    ['bad --seed', 'invalid_argument', () => [...base(), '--seed', '-1']],
    ['bad --rank', 'invalid_argument', () => [...base(), '--rank', 'beauty=2']],
    ['unknown option', 'invalid_argument', () => [...base(), '--colour', 'red']],
    ['no --mask for edit', 'invalid_argument', () => ['edit', '--image', 'in.png', '--out', 'out.png']],
    ['output folder missing', 'output_unwritable', () => swap('--out', 'no/such/dir/out.png')],
  ])('%s -> %s', (_what, code, args) => {
    const r = run(args());
    expect(r.code).toBe(2 - (code === 'output_unwritable' ? 1 : 0));
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`[${code}]`);
    if (code === 'pack_invalid') expect(lines[0]).toContain('$.resolution.native');
    expect(readdirSync(dir).filter((f) => f.startsWith('out'))).toEqual([]);
  });
});

describe('byteedit edit never overwrites an input', () => {
  const original = (): Buffer => readFileSync(join(dir, 'in.png'));
  beforeAll(() => {
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'victim.png'), original());
    writeFileSync(join(dir, 'victim-mask.png'), readFileSync(join(dir, 'mask.png')));
    writeFileSync(join(dir, 'victim-2.png'), original());
    symlinkSync(join(dir, 'victim.png'), join(dir, 'link-to-victim.png'));
    linkSync(join(dir, 'victim.png'), join(dir, 'hardlink-to-victim.png'));
  });

  it.each([
    ['the image itself', ['--out', 'victim.png']],
    ['the mask', ['--out', 'victim-mask.png']],
    ['the image through ..', ['--out', 'sub/../victim.png']],
    ['the image through an absolute path', ['--out', '<dir>/victim.png']],
    ['a symlink to the image', ['--out', 'link-to-victim.png']],
    ['a hard link to the image', ['--out', 'hardlink-to-victim.png']],
    ['the image as OUT-2 of 3 candidates', ['--out', 'victim.png', '--candidates', '3', '--image', 'victim-2.png']],
  ])('refuses --out that is %s: exit 2 invalid_argument, inputs unchanged', (_what, extra) => {
    const before = readdirSync(dir).sort();
    const args = ['edit', '--image', 'victim.png', '--mask', 'victim-mask.png', '--pack', FIXTURE, '--seed', '5', '-q', ...extra.map((a) => a.replace('<dir>', dir))];
    const r = run(args);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\[invalid_argument\]: the output .* is the (image|mask) file .*never overwrites its input/);
    expect(readFileSync(join(dir, 'victim.png')).equals(original())).toBe(true);
    expect(readFileSync(join(dir, 'victim-2.png')).equals(original())).toBe(true);
    expect(readFileSync(join(dir, 'victim-mask.png')).equals(readFileSync(join(dir, 'mask.png')))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});

/** A PNG chunk with its CRC, for files that say what a test needs them to. */
function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function ihdr(width: number, height: number, depth = 8, colorType = 6): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d.set([depth, colorType, 0, 0, 0], 8);
  return chunk('IHDR', d);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('byteedit edit says what it reads', () => {
  it('checks the mask size from the headers before decoding either file', () => {
    // A 6000x6000 image whose data is broken: the old order decoded it first and reported that.
    const lying = Buffer.concat([SIGNATURE, ihdr(6000, 6000), chunk('IDAT', deflateSync(Buffer.alloc(1000))), chunk('IEND', new Uint8Array(0))]);
    writeFileSync(join(dir, 'huge.png'), lying);
    const started = Date.now();
    const r = run(['edit', '--image', 'huge.png', '--mask', 'mask.png', '--max-pixels', '1e9', '--pack', FIXTURE, '--out', 'out.png']);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`byteedit: error [mask_size_mismatch]: the mask mask.png is ${W}x${H} but the image huge.png is 6000x6000; the mask must have the image's size`]);
  });

  it('says on stderr, one line each, that a 16-bit image is written as 8-bit and an animation as its first frame', () => {
    const deep = new Uint16Array(W * H * 3);
    for (let i = 0; i < deep.length; i++) deep[i] = (i * 97) & 0xffff;
    writeFileSync(join(dir, 'deep.png'), encodePngRaw({ width: W, height: H, data: deep, depth: 16, channels: 3 }));
    let r = run(['edit', '--image', 'deep.png', '--mask', 'mask.png', '--pack', FIXTURE, '--out', 'out.png', '-q']);
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual(['byteedit: note: image deep.png is 16-bit per channel; it is edited and written as 8-bit']);

    const actl = Buffer.alloc(8);
    actl.writeUInt32BE(3, 0);
    const rows = Buffer.alloc(H * (1 + W * 4), 200);
    for (let y = 0; y < H; y++) rows[y * (1 + W * 4)] = 0;
    const idat = deflateSync(rows);
    const fctl = (seq: number): Buffer => {
      const d = Buffer.alloc(26);
      d.writeUInt32BE(seq, 0);
      d.writeUInt32BE(W, 4);
      d.writeUInt32BE(H, 8);
      return chunk('fcTL', d);
    };
    const fdat = (seq: number): Buffer => chunk('fdAT', Buffer.concat([Buffer.from([0, 0, 0, seq]), idat]));
    const apng = Buffer.concat([SIGNATURE, ihdr(W, H), chunk('acTL', actl), fctl(0), chunk('IDAT', idat), fctl(1), fdat(2), fctl(3), fdat(4), chunk('IEND', new Uint8Array(0))]);
    writeFileSync(join(dir, 'animated.png'), apng);
    r = run(['edit', '--image', 'animated.png', '--mask', 'mask.png', '--pack', FIXTURE, '--out', 'out.png', '-q']);
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual(['byteedit: note: image animated.png is animated (3 frames); only its first frame is edited and written, as a still image']);
  });

  it.each([
    [['--steps', '-1'], '--steps must be a whole number from 1 to 150, got -1'],
    [['--steps', '0'], '--steps must be a whole number from 1 to 150, got 0'],
    [['--steps', '2.5'], '--steps must be a whole number from 1 to 150, got 2.5'],
    [['--candidates', '-2'], '--candidates must be a whole number from 1 to 16, got -2'],
    [['--seed', '-1'], '--seed must be a whole number from 0 to 4294967295, got -1'],
    [['--seed', '1e400'], '--seed must be a whole number from 0 to 4294967295, got 1e400'],
    [['--max-pixels', '-5'], '--max-pixels must be a whole number from 1 to 1000000000, got -5'],
    [['--max-pixels', ''], '--max-pixels must be a whole number from 1 to 1000000000, got ""'],
    [['--guidance', '-3'], '--guidance must be a number from 0 up to 30, got -3'],
    [['--strength', '-.5'], '--strength must be a number above 0 up to 1, got -.5'],
  ])('%j is refused with a message naming the flag, its range and the value', (flag, message) => {
    const r = run([...base(), ...flag]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`byteedit: error [invalid_argument]: ${message}`]);
  });
});
