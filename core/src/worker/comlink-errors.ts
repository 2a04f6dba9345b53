/**
 * Typed errors across the comlink boundary: comlink's own "throw" handler keeps only name,
 * message and stack. We wrap it so an SdkError travels as {code, message} and is rebuilt as an
 * SdkError with the same code on the other side. Installed in both realms.
 */
import * as Comlink from 'comlink';
import { deserializeError, SdkError } from '../util/errors';

interface Thrown {
  value: unknown;
}

let installed = false;

export function installErrorHandler(): void {
  if (installed) return;
  installed = true;
  const base = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: (v: unknown): v is Thrown => base.canHandle(v),
    serialize(thrown: unknown) {
      const { value } = thrown as Thrown;
      if (value instanceof SdkError) return [{ sdkError: { code: value.code, message: value.message } }, []];
      return base.serialize(thrown);
    },
    deserialize(serialized: unknown) {
      const s = serialized as { sdkError?: unknown };
      if (s && typeof s === 'object' && 'sdkError' in s) throw deserializeError(s.sdkError);
      return base.deserialize(serialized);
    },
  });
}
