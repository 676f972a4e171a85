/**
 * NestJS 12 packages are ESM-only, and Jest loads ESM only in its native ESM mode (node --experimental-vm-modules,
 * see package.json). So tests run as ESM through ts-jest, while the production build stays CommonJS and loads
 * Nest through Node's require(esm).
 * Two tiers: fast unit specs beside the code, and e2e specs that boot the app against the simulators.
 */
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.jest.json' }] },
  testEnvironment: 'node',
};
module.exports = {
  testTimeout: 30000,
  projects: [
    { ...common, displayName: 'unit', rootDir: '.', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/sim/**/*.spec.ts', '<rootDir>/test/web/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', rootDir: '.', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
