/**
 * The `byteedit` command: `edit` runs one job on the local engine; `serve` starts the local bridge
 * (from @byteedit/gimp-bridge, so core does not depend on any host or on HTTP).
 * Bad input: exit 2, one line naming the problem, no output file. Other failures: exit 1.
 */
import { promises as fs } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SdkError, serializeError, type ErrorCode } from '../util/errors';
import { decodeImage, encodeImage, readImageInfo } from '../image/codecs';
import { maskFromImage, type Mask, type RgbaImage } from '../image/image';
import { composeCandidate, jobResult } from '../engine/run';
import { VERSION } from '../engine/engine';
import type { EditRequest } from '../engine/types';
import { engineLine } from '../host/prepare';
import { createEngine, defaultPackPath } from '../node';
import { EDIT_USAGE, parseEditArgs, type EditArgs } from './args';
import { ProgressBar } from './progress';
import { packsMain } from './packs';
import { outputPaths, refuseOverwritingInputs, writeAll } from './output';

const USAGE = `byteedit ${VERSION} — generative image editing on local ONNX models

usage: byteedit edit ...     edit, erase or outpaint one image (byteedit edit --help)
       byteedit serve ...    start the local bridge for GIMP, Photoshop and Figma (byteedit serve --help)
       byteedit packs ...    list, pull, verify and remove downloadable packs (byteedit packs --help)
       byteedit --version`;

/** Errors caused by what the user passed in: exit code 2. */
const INPUT_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'invalid_argument', 'image_not_found', 'image_unreadable', 'image_too_large', 'mask_size_mismatch', 'mask_empty',
  'pack_not_found', 'pack_file_missing', 'pack_invalid', 'model_layout_unsupported', 'mode_unsupported', 'device_unavailable',
]);

/** Our own messages stay one line each, whatever a native library put in them. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

async function readInputFile(path: string, what: 'image' | 'mask'): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fs.readFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SdkError('image_not_found', `${what} file ${path} does not exist`);
    if (code === 'EISDIR') throw new SdkError('image_not_found', `${what} path ${path} is a folder, not an image file`);
    throw new SdkError('image_not_found', `cannot read ${what} file ${path} (${code ?? String(err)})`);
  }
}

/**
 * Reads both inputs and checks what their headers say before decoding either: a mask of the
 * wrong size is reported at once, however large the image. Says on stderr what decoding to
 * 8-bit RGBA will drop (16-bit samples, animation frames), one line each.
 */
async function readInputs(args: EditArgs): Promise<{ image: RgbaImage; mask?: Mask }> {
  const imageBytes = await readInputFile(args.image, 'image');
  const maskBytes = args.mask ? await readInputFile(args.mask, 'mask') : undefined;
  const imageInfo = readImageInfo(imageBytes);
  const maskInfo = maskBytes ? readImageInfo(maskBytes) : null;
  if (imageInfo && maskInfo && (imageInfo.width !== maskInfo.width || imageInfo.height !== maskInfo.height)) {
    throw new SdkError('mask_size_mismatch', `the mask ${args.mask} is ${maskInfo.width}x${maskInfo.height} but the image ${args.image} is ${imageInfo.width}x${imageInfo.height}; the mask must have the image's size`);
  }
  const note = (line: string): boolean => process.stderr.write(`byteedit: note: ${line}\n`);
  if (imageInfo && imageInfo.bitDepth === 16) note(`image ${args.image} is 16-bit per channel; it is edited and written as 8-bit`);
  if (imageInfo && imageInfo.frames > 1) note(`image ${args.image} is animated (${imageInfo.frames} frames); only its first frame is edited and written, as a still image`);
  if (maskInfo && maskInfo.frames > 1) note(`mask ${args.mask} is animated (${maskInfo.frames} frames); only its first frame is used`);
  const image = decodeImage(imageBytes, { maxPixels: args.request.maxPixels, name: `image ${args.image}` });
  const mask = maskBytes ? maskFromImage(decodeImage(maskBytes, { maxPixels: args.request.maxPixels, name: `mask ${args.mask}` })) : undefined;
  return { image, mask };
}

async function edit(args: EditArgs): Promise<number> {
  // Before any work: no output may land on an input.
  const inputs = [{ what: 'image', path: args.image }, ...(args.mask ? [{ what: 'mask', path: args.mask }] : [])];
  await refuseOverwritingInputs(outputPaths(args.out, args.candidates), inputs);
  const { image, mask } = await readInputs(args);
  const outFolder = dirname(resolve(args.out));
  try {
    if (!(await fs.stat(outFolder)).isDirectory()) throw new Error();
  } catch {
    throw new SdkError('output_unwritable', `the output folder ${outFolder} does not exist; create it first`);
  }

  const pack = args.request.pack ?? defaultPackPath();
  const engine = createEngine({ pack, device: args.device, maxPixels: args.request.maxPixels });
  const manifest = args.request.engine === 'fill' ? null : (await engine.loadPack(pack)).manifest;
  if (manifest?.kind === 'fixture' && !args.quiet) {
    process.stderr.write(`byteedit: note: pack "${manifest.name}" is a test fixture with random weights; its results are noise, not edits.\n`);
  }
  const request: EditRequest = { ...args.request, image, mask, pack, previewEvery: 0 };
  const bar = new ProgressBar(process.stderr);
  const handle = await engine.submit(request);
  const onSigint = (): void => void handle.cancel();
  process.once('SIGINT', onSigint);
  try {
    const result = await jobResult(handle, (e) => {
      // One line per device passed over: a user who asked for auto should know why it is slow.
      if (e.type === 'started') for (const f of e.fallbacks ?? []) process.stderr.write(`byteedit: not using ${f.device}: ${oneLine(f.reason)}; using ${e.device}\n`);
      if (e.type === 'progress') bar.update(e.done, e.of, `step ${e.step}/${e.total}${e.of > e.total ? ` (candidate ${e.candidate + 1})` : ''}`);
    });
    bar.done();
    const paths = outputPaths(args.out, result.candidates.length);
    if (paths.length !== args.candidates) await refuseOverwritingInputs(paths, inputs);
    const format = /\.png$/i.test(args.out) ? 'png' : 'jpeg';
    await writeAll(result.candidates.map((c, i) => ({ path: paths[i]!, bytes: encodeImage(composeCandidate(image, result.summary, c), format) })));
    const s = result.summary;
    if (args.json) {
      const out = {
        files: paths,
        seeds: result.candidates.map((c) => c.seed),
        scores: result.candidates.some((c) => c.scores) ? result.candidates.map((c) => c.scores ?? null) : undefined,
        rankScores: result.candidates.map((c) => s.rankScores[c.index]),
        rankWeights: s.rankWeights,
        rewardSources: s.rewardSources,
        regions: result.candidates.map((c) => c.region),
        canvas: s.canvas,
        device: s.device,
        deviceChoice: s.deviceChoice,
        pack: s.pack,
        engine: s.engine,
        route: s.route,
        steps: s.steps,
        timings: s.timings,
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else if (!args.quiet) {
      process.stderr.write(`byteedit: engine ${engineLine(s)}\nbyteedit: wrote ${paths.join(', ')} (${s.device}, ${s.steps} ${s.engine === 'inpaint' ? 'pass' : 'steps'}, ${(s.timings.totalMs / 1000).toFixed(2)} s)\n`);
    }
    return 0;
  } finally {
    bar.done();
    process.removeListener('SIGINT', onSigint);
    await engine.dispose();
  }
}

/**
 * `byteedit serve` is the bridge's CLI (@byteedit/gimp-bridge, an optional peer dependency of
 * core): loaded at run time from wherever Node finds the package, never bundled into core.
 */
async function serve(argv: string[]): Promise<number> {
  let bridge: { main(argv: string[]): Promise<number> };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    bridge = require('@byteedit/gimp-bridge/cli') as typeof bridge;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e?.code !== 'MODULE_NOT_FOUND') throw err;
    // The package is there but its dist/ is not (a repository checkout before `npm run build`).
    let installed = false;
    try {
      require.resolve('@byteedit/gimp-bridge/package.json');
      installed = true;
    } catch {
      // not installed
    }
    throw new SdkError(
      'invalid_argument',
      installed
        ? 'the bridge (@byteedit/gimp-bridge) is not built: run `npm run build` in the byteedit repository (npm ci does it)'
        : 'byteedit serve needs the bridge: npm install @byteedit/gimp-bridge (an optional peer dependency of @byteedit/core)',
    );
  }
  return bridge.main(argv);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'edit':
        if (rest.includes('--help') || rest.includes('-h')) {
          process.stdout.write(`${EDIT_USAGE}\n`);
          return 0;
        }
        return await edit(parseEditArgs(rest));
      case 'serve':
        return await serve(rest);
      case 'packs':
        return await packsMain(rest);
      case '--version':
      case '-v':
        process.stdout.write(`${VERSION}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new SdkError('invalid_argument', `unknown command "${command}"; use edit, serve or packs (byteedit --help)`);
    }
  } catch (err) {
    const e = serializeError(err);
    if (e.code === 'cancelled') {
      process.stderr.write('byteedit: cancelled; nothing was written\n');
      return 130;
    }
    process.stderr.write(`byteedit: error [${e.code}]: ${oneLine(e.message)}\n`);
    return INPUT_ERRORS.has(e.code) ? 2 : 1;
  }
}

export { defaultPackPath, outputPaths };
