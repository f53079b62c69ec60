// The soak runs on its own (scripts/soak), never in `npm test`: it takes minutes by design.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/soak/**/*.soak.ts'],
    hookTimeout: 120_000,
  },
});
