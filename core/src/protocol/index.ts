/**
 * The bottom layer of core: the contract every other part and every host builds on. The request
 * (one field table and its parser), the shared unions, the error codes, the job events and the
 * engine interface. It imports nothing from the rest of core but image type declarations.
 */
export * from './errors';
export * from './unions';
export * from './fields';
export * from './request';
export * from './events';
export * from './openapi';
