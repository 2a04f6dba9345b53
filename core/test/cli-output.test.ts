import * as nodeFs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAll } from '../src/cli/output';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'byteedit-write-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('writeAll', () => {
  it('creates each temporary exclusively under a random name, never the pid', async () => {
    const open = jest.spyOn(nodeFs.promises, 'open');
    await writeAll([{ path: join(dir, 'a.png'), bytes: new Uint8Array([1]) }]);
    await writeAll([{ path: join(dir, 'a.png'), bytes: new Uint8Array([2]) }]);
    const temps = open.mock.calls.map((c) => String(c[0]));
    expect(open.mock.calls.map((c) => c[1])).toEqual(['wx', 'wx']);
    expect(temps[0]).not.toEqual(temps[1]);
    for (const t of temps) {
      expect(t).toMatch(/[/\\]\.a\.png\.[0-9a-f]{16}\.partial$/);
      expect(t).not.toContain(String(process.pid));
    }
    expect(readdirSync(dir)).toEqual(['a.png']);
    expect([...readFileSync(join(dir, 'a.png'))]).toEqual([2]);
  });

  it('leaves no file under any final name, and no temporary, when a write fails half-way', async () => {
    writeFileSync(join(dir, 'b.png'), 'previous result');
    // The second file's data stops after two bytes, as when the disk fills: injected both where a
    // file handle writes and where a plain writeFile would.
    const enospc = Object.assign(new Error('no space left'), { code: 'ENOSPC' });
    const real = { open: nodeFs.promises.open, writeFile: nodeFs.promises.writeFile };
    let calls = 0;
    jest.spyOn(nodeFs.promises, 'open').mockImplementation(async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      if (++calls === 2) {
        await handle.write(new Uint8Array([0x89, 0x50]));
        jest.spyOn(handle, 'writeFile').mockRejectedValue(enospc);
      }
      return handle;
    });
    jest.spyOn(nodeFs.promises, 'writeFile').mockImplementation(async (...args: Parameters<typeof real.writeFile>) => {
      if (++calls !== 2) return real.writeFile(...args);
      await real.writeFile(args[0], new Uint8Array([0x89, 0x50]));
      throw enospc;
    });
    const files = [
      { path: join(dir, 'a.png'), bytes: new Uint8Array(1000).fill(1) },
      { path: join(dir, 'b.png'), bytes: new Uint8Array(1000).fill(2) },
    ];
    await expect(writeAll(files)).rejects.toMatchObject({ code: 'output_unwritable', message: expect.stringContaining('ENOSPC') });
    expect(readdirSync(dir)).toEqual(['b.png']);
    expect(readFileSync(join(dir, 'b.png'), 'utf8')).toBe('previous result');
  });

  it('does not follow a symlink planted where a temporary would go', async () => {
    // With a predictable name an attacker could plant this link; O_EXCL refuses it regardless.
    const open = nodeFs.promises.open;
    const target = join(dir, 'target.txt');
    writeFileSync(target, 'keep');
    jest.spyOn(nodeFs.promises, 'open').mockImplementation(async (path, flags, mode) => {
      nodeFs.symlinkSync(target, String(path));
      return open(path, flags, mode);
    });
    await expect(writeAll([{ path: join(dir, 'c.png'), bytes: new Uint8Array([3]) }])).rejects.toMatchObject({ code: 'output_unwritable', message: expect.stringContaining('EEXIST') });
    expect(readFileSync(target, 'utf8')).toBe('keep');
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toHaveLength(1); // the planted link, not ours to remove
  });
});
