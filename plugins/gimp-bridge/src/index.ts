/** @byteedit/gimp-bridge: the local bridge server, for `byteedit serve`, tests and other hosts. */
export { startServer, DEFAULTS, type BridgeServer, type ServerOptions, type CloseOptions } from './server';
export { main, parseServeArgs } from './cli';
export { bridgeFilePath, configDir, readBridgeFile, type BridgeFile } from './config-file';
export { HttpError, type BridgeErrorCode } from './errors';
