/** The error type and codes live in the protocol layer (core/src/protocol/errors.ts). */
export * from '../protocol/errors';
