/**
 * Benchmark: patchMatchFill on a 1024x1024 image with a 5 % hole (a centred disc), default options.
 * Prints one JSON line per run and a summary (wall and CPU time; on a shared machine the CPU time is
 * the fairer number, since the fill runs on one thread). Run:
 *   npx esbuild models/eval/fill/bench.ts --bundle --platform=node --outfile=/tmp/fill-bench.cjs && node /tmp/fill-bench.cjs [runs]
 * The image is synthetic but photo-like (smooth shading, edges, fine noise) so the search does real
 * work; it is generated deterministically so timings compare across machines.
 */
import { benchFill } from '../../../core/src/bench/fill';

benchFill(Number(process.argv[2] ?? 5), (line) => console.log(line))
  .then((summary) => console.log(JSON.stringify(summary)))
  .catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
