// One jest run for the whole repository, one project per package. Tiers: unit tests are fast and
// default; fixture-pack and end-to-end tests live beside them and start real things (ORT, workers,
// the bridge over loopback, GIMP 3, Chromium). Helpers live in test/jest/.
const path = require('node:path');

const jestDir = path.join(__dirname, 'test', 'jest');
const transform = { '^.+\\.(ts|js|mjs)$': path.join(jestDir, 'esbuild-transform.cjs') };
// fast-png and iobuffer ship ESM only: let the esbuild transform turn them into CommonJS too.
const transformIgnorePatterns = ['/node_modules/(?!(fast-png|iobuffer)/)'];
const common = {
  testEnvironment: path.join(jestDir, 'node-env.cjs'),
  globalSetup: path.join(jestDir, 'build-once.cjs'),
  transform,
  transformIgnorePatterns,
  moduleFileExtensions: ['ts', 'js', 'json'],
  // A guard against hangs, not a speed target: CI machines are small and often loaded.
  testTimeout: 120_000,
};

module.exports = {
  testTimeout: 120_000,
  projects: [
    { ...common, displayName: 'core', rootDir: path.join(__dirname, 'core'), testMatch: ['<rootDir>/test/**/*.test.ts'] },
    { ...common, displayName: 'gimp-bridge', rootDir: path.join(__dirname, 'plugins', 'gimp-bridge'), testMatch: ['<rootDir>/test/**/*.test.ts'] },
    { ...common, displayName: 'figma', rootDir: path.join(__dirname, 'plugins', 'figma'), testMatch: ['<rootDir>/test/**/*.test.ts'] },
    { ...common, displayName: 'photoshop', rootDir: path.join(__dirname, 'plugins', 'photoshop'), testMatch: ['<rootDir>/test/**/*.test.ts'] },
    { ...common, displayName: 'e2e', rootDir: path.join(__dirname, 'test'), testMatch: ['<rootDir>/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/', '/jest/'] },
  ],
};
