// The container tests run on their own (npm run test:containers; .ci/run runs them after npm test): they build both
// images from scratch, which takes minutes.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/containers/**/*.containers.ts'],
    testTimeout: 180_000,
    hookTimeout: 900_000,
  },
});
