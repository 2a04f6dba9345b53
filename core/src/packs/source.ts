/**
 * Where a pack's files come from. The core never touches a filesystem or the network itself:
 * Node gives it a folder (runtime/node-pack-source.ts), browsers a base URL (runtime/web-pack-source.ts),
 * tests may give it a map of bytes.
 */
import type { ModelSource } from '../runtime/types';

export interface PackSource {
  /** Human-readable location for messages (folder path or URL). */
  readonly location: string;
  /** File contents, or null when the file does not exist. */
  readBytes(relPath: string): Promise<Uint8Array | null>;
  exists(relPath: string): Promise<boolean>;
  /** How the runtime should open a model file (a path in Node, bytes in browsers). */
  modelSource(relPath: string): Promise<ModelSource>;
}
