// One jest run for the whole repository, one project per package. Tiers: unit tests are fast and
// default; fixture-pack and end-to-end tests live beside them and start real things (ORT, workers,
// the bridge over loopback, GIMP 3, Chromium).
const transform = { '^.+\\.(ts|js|mjs)$': '<rootDir>/../scripts/jest-esbuild.cjs' };
// fast-png and iobuffer ship ESM only: let the esbuild transform turn them into CommonJS too.
const transformIgnorePatterns = ['/node_modules/(?!(fast-png|iobuffer)/)'];
const common = { testEnvironment: '<rootDir>/../scripts/jest-node-env.cjs', transform, transformIgnorePatterns, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  projects: [
    { ...common, displayName: 'core', rootDir: 'core', testMatch: ['<rootDir>/test/**/*.test.ts'], globalSetup: '<rootDir>/../scripts/jest-build.cjs' },
    { ...common, testEnvironment: '<rootDir>/../../scripts/jest-node-env.cjs', displayName: 'gimp-bridge', rootDir: 'plugins/gimp-bridge', testMatch: ['<rootDir>/test/**/*.test.ts'], globalSetup: '<rootDir>/../../scripts/jest-build.cjs', transform: { '^.+\\.(ts|js|mjs)$': '<rootDir>/../../scripts/jest-esbuild.cjs' } },
    { ...common, displayName: 'e2e', rootDir: 'test', testMatch: ['<rootDir>/**/*.test.ts'], globalSetup: '<rootDir>/../scripts/jest-build.cjs' },
  ],
};
