#!/usr/bin/env python3
"""Evaluates byteedit's PatchMatch fill against OpenCV inpainting (Telea, Navier-Stokes).

    /usr/bin/python3 models/photos/build.py            # once: the photo set
    /usr/bin/python3 models/eval/fill/eval.py [--out /tmp/fill-eval] [--pictures docs/img/fill]

For every photo in models/photos/build and each of its two masks it runs patchMatchFill (the
TypeScript code, bundled with esbuild and run by node) and cv2.inpaint (radius 3), then reports:

  psnr      masked-region PSNR (RGB, peak 255) against the untouched original, dB
  texture   gradient energy inside the hole relative to the original: mean |Sobel(luma)|^2 over
            hole pixels of the result / the same over the original (1.0 = as much detail as the truth)
  tex_err   |1 - texture| (blurry fills score badly, so do fills that invent too much detail)
  seam      RMS difference of the luma gradient (result vs original) in the band within 2 px of the
            hole boundary, inside and outside: how visible the border of the fill is

Means over all pairs go to stdout as a Markdown table; per-pair numbers to OUT/results.json.
With --engines, the same cases also go through the core's engine: the small pack (diffusion erase)
and each erase pack (the fixture ones by default: random weights, so their rows say only that the
I/O works and what it costs), with the same metrics and the time per photo.
"""
import argparse
import json
import os
import subprocess
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
# Pictures for docs use only CC0/public-domain photos (see models/photos/LICENSES.md).
PICTURES = [('astronaut', 'object'), ('coffee', 'object'), ('chelsea', 'strokes'), ('rocket', 'strokes'), ('brick', 'object')]


def luma(bgr):
    b, g, r = [bgr[..., i].astype(np.float64) for i in range(3)]
    return 0.299 * r + 0.587 * g + 0.114 * b


def grads(bgr):
    y = luma(bgr)
    return cv2.Sobel(y, cv2.CV_64F, 1, 0, ksize=3), cv2.Sobel(y, cv2.CV_64F, 0, 1, ksize=3)


def metrics(orig, result, hole):
    h = hole > 0
    diff = orig[h].astype(np.float64) - result[h].astype(np.float64)
    mse = float(np.mean(diff ** 2))
    psnr = 10 * np.log10(255.0 ** 2 / max(mse, 1e-10))
    gxo, gyo = grads(orig)
    gxr, gyr = grads(result)
    e_orig = float(np.mean(gxo[h] ** 2 + gyo[h] ** 2))
    e_res = float(np.mean(gxr[h] ** 2 + gyr[h] ** 2))
    texture = e_res / max(e_orig, 1e-10)
    m_orig = float(np.mean(np.sqrt(gxo[h] ** 2 + gyo[h] ** 2)))
    m_res = float(np.mean(np.sqrt(gxr[h] ** 2 + gyr[h] ** 2)))
    texture_l1 = m_res / max(m_orig, 1e-10)
    k = np.ones((5, 5), np.uint8)
    band = (cv2.dilate(hole, k) > 0) & ~(cv2.erode(hole, k) > 0)
    seam = float(np.sqrt(np.mean((gxr[band] - gxo[band]) ** 2 + (gyr[band] - gyo[band]) ** 2)))
    return {'psnr': psnr, 'texture': texture, 'tex_err': abs(1 - texture), 'texture_l1': texture_l1,
            'tex_err_l1': abs(1 - texture_l1), 'seam': seam}


def build_driver(out):
    bundle = os.path.join(out, 'run-fill.cjs')
    subprocess.run(['npx', 'esbuild', os.path.join(HERE, 'run-fill.ts'), '--bundle', '--platform=node',
                    '--external:onnxruntime-node', '--external:onnxruntime-web',
                    f'--outfile={bundle}', '--log-level=warning'], cwd=ROOT, check=True)
    return bundle


def side_by_side(orig, hole, telea, fill, path):
    shown = orig.copy()
    shown[hole > 0] = (shown[hole > 0] * 0.3 + np.array([255, 0, 255]) * 0.7).astype(np.uint8)
    tiles = [shown, telea, fill, orig]
    gap = np.full((orig.shape[0], 6, 3), 255, np.uint8)
    row = np.concatenate([x for t in tiles for x in (t, gap)][:-1], axis=1)
    scale = min(1.0, 1000 / row.shape[1])
    if scale < 1:
        row = cv2.resize(row, (round(row.shape[1] * scale), round(row.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(path, row, [cv2.IMWRITE_PNG_COMPRESSION, 9])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--photos', default=os.path.join(ROOT, 'models', 'photos', 'build'))
    ap.add_argument('--out', default='/tmp/fill-eval')
    ap.add_argument('--pictures', default=None, help='write before/after PNGs here (e.g. docs/img/fill)')
    ap.add_argument('--patch-size', type=int, default=None)
    ap.add_argument('--iterations', type=int, default=None)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--only', default=None, help='comma-separated photo names')
    ap.add_argument('--driver', default=None, help='a prebuilt run-fill bundle (default: build it)')
    ap.add_argument('--engines', action='store_true',
                    help='also erase through the engine: the small pack (diffusion) and the erase packs in '
                         'models/fixtures (random weights: I/O and speed only) or --erase-pack folders')
    ap.add_argument('--erase-pack', action='append', default=[], help='an erase pack folder (family inpaint) to evaluate')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    names = sorted(f[:-4] for f in os.listdir(args.photos) if f.endswith('.png') and '_' not in f)
    if args.only:
        names = [n for n in names if n in args.only.split(',')]
    if not names:
        sys.exit(f'no photos in {args.photos}: run /usr/bin/python3 models/photos/build.py first')

    pairs, jobs = [], []
    for name in names:
        orig = cv2.imread(os.path.join(args.photos, f'{name}.png'), cv2.IMREAD_COLOR)
        for kind in ('object', 'strokes'):
            hole = cv2.imread(os.path.join(args.photos, f'{name}_{kind}.png'), cv2.IMREAD_GRAYSCALE)
            hole = np.where(hole > 0, 255, 0).astype(np.uint8)
            pid = f'{name}_{kind}'
            damaged = orig.copy()
            damaged[hole > 0] = 0  # nothing under the hole may leak into any method
            rgba = np.dstack([damaged[..., ::-1], np.full(hole.shape, 255, np.uint8)])
            base = os.path.join(args.out, pid)
            rgba.tofile(base + '.rgba')
            hole.tofile(base + '.mask')
            jobs.append({'id': pid, 'width': orig.shape[1], 'height': orig.shape[0], 'image': base + '.rgba',
                         'mask': base + '.mask', 'out': base + '.fill.rgba'})
            pairs.append((pid, name, kind, orig, damaged, hole))

    options = {'seed': args.seed}
    if args.patch_size:
        options['patchSize'] = args.patch_size
    if args.iterations:
        options['iterations'] = args.iterations
    engines = [{'name': 'patchmatch'}]
    extra = []  # (name, title)
    if args.engines:
        engines.append({'name': 'small', 'pack': os.path.join(ROOT, 'models', 'packs', 'byteedit-small')})
        extra.append(('small', 'small pack, diffusion erase (8 steps)'))
        packs = args.erase_pack or [os.path.join(ROOT, 'models', 'fixtures', n) for n in ('tiny-migan', 'tiny-lama')]
        for folder in packs:
            name = os.path.basename(os.path.normpath(folder))
            kind = json.load(open(os.path.join(folder, 'pack.json'))).get('kind')
            engines.append({'name': name, 'inpaintPack': folder})
            extra.append((name, f'erase pack {name}' + (' (fixture: random weights, I/O and speed only)' if kind == 'fixture' else '')))
    with open(os.path.join(args.out, 'jobs.json'), 'w') as f:
        json.dump({'options': options, 'engines': engines, 'jobs': jobs}, f)
    bundle = args.driver or build_driver(args.out)
    env = dict(os.environ, NODE_PATH=os.path.join(ROOT, 'node_modules'))
    run = subprocess.run(['node', bundle, os.path.join(args.out, 'jobs.json')], check=True, capture_output=True, text=True, env=env)
    timings = json.loads(run.stdout.strip().splitlines()[-1])

    results = []
    for pid, name, kind, orig, damaged, hole in pairs:
        h, w = hole.shape
        fill = np.fromfile(os.path.join(args.out, pid + '.fill.rgba'), np.uint8).reshape(h, w, 4)[..., 2::-1].copy()
        telea = cv2.inpaint(damaged, hole, 3, cv2.INPAINT_TELEA)
        ns = cv2.inpaint(damaged, hole, 3, cv2.INPAINT_NS)
        row = {'id': pid, 'kind': kind, 'hole_pct': 100 * float(np.mean(hole > 0)), 'fill_ms': timings[pid]}
        for method, res in (('patchmatch', fill), ('telea', telea), ('ns', ns)):
            row[method] = metrics(orig, res, hole)
        for name, _ in extra:
            got = np.fromfile(os.path.join(args.out, f'{pid}.{name}.rgba'), np.uint8).reshape(h, w, 4)[..., 2::-1].copy()
            row[name] = metrics(orig, got, hole)
            row[name]['ms'] = timings[f'{pid}:{name}']
        results.append(row)
        if args.pictures and (name, kind) in PICTURES:
            os.makedirs(args.pictures, exist_ok=True)
            side_by_side(orig, hole, telea, fill, os.path.join(args.pictures, f'{pid}.png'))
    with open(os.path.join(args.out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)

    def mean(rows, method, key):
        return float(np.mean([r[method][key] for r in rows]))

    def median(rows, method, key):
        return float(np.median([r[method][key] for r in rows]))

    print(f'{len(results)} photo/mask pairs from {len(names)} photos, patchMatchFill options {json.dumps(options)}\n')
    print('| set | method | PSNR (dB) | texture (1 = truth) | texture error | median texture error | mean-abs-gradient ratio | its error | seam |')
    print('|---|---|---|---|---|---|---|---|---|')
    for label, rows in (('all', results), ('objects', [r for r in results if r['kind'] == 'object']),
                        ('strokes', [r for r in results if r['kind'] == 'strokes'])):
        for method, title in (('patchmatch', 'byteedit PatchMatch'), ('telea', 'OpenCV Telea'), ('ns', 'OpenCV Navier-Stokes'), *extra):
            print(f"| {label} | {title} | {mean(rows, method, 'psnr'):.2f} | {mean(rows, method, 'texture'):.2f} | "
                  f"{mean(rows, method, 'tex_err'):.3f} | {median(rows, method, 'tex_err'):.3f} | "
                  f"{mean(rows, method, 'texture_l1'):.2f} | {mean(rows, method, 'tex_err_l1'):.3f} | {mean(rows, method, 'seam'):.1f} |")
    dp = mean(results, 'patchmatch', 'psnr') - mean(results, 'telea', 'psnr')
    tr = mean(results, 'patchmatch', 'tex_err') / max(mean(results, 'telea', 'tex_err'), 1e-10)
    print(f'\nPSNR vs Telea: {dp:+.2f} dB (goal >= -1.00); texture error / Telea: {tr:.2f} (goal <= 0.50)')
    print(f"fill time per photo: median {np.median([r['fill_ms'] for r in results]):.0f} ms, "
          f"max {max(r['fill_ms'] for r in results):.0f} ms; load {os.getloadavg()[0]:.2f}")
    for name, title in extra:
        print(f"{title}: median {np.median([r[name]['ms'] for r in results]):.0f} ms per photo (CPU, load included)")
    print('\nper pair (PSNR dB / texture): patchmatch | telea | ns')
    for r in results:
        print(f"  {r['id']:22s} {r['hole_pct']:4.1f}%  {r['patchmatch']['psnr']:5.2f}/{r['patchmatch']['texture']:.2f} | "
              f"{r['telea']['psnr']:5.2f}/{r['telea']['texture']:.2f} | {r['ns']['psnr']:5.2f}/{r['ns']['texture']:.2f}")


if __name__ == '__main__':
    main()
