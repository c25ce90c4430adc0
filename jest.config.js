// ESM jest: ts-jest only transpiles; `npm run typecheck` type-checks tests.
export default {
  clearMocks: true,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  testMatch: ['**/__tests__/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json', diagnostics: false }]
  },
  collectCoverageFrom: ['src/**/*.ts'],
  coverageReporters: ['text-summary'],
  testTimeout: 60000,
  // Builds crane from its Go module for the end-to-end suites (cached in .tools/).
  globalSetup: '<rootDir>/__fixtures__/global-setup.mjs',
  globalTeardown: '<rootDir>/__fixtures__/global-teardown.mjs',
  // The default reporter, then loud closing lines when crane suites were left out.
  reporters: ['default', '<rootDir>/__fixtures__/crane-reporter.mjs']
}
