import { defineConfig } from "vitest/config";

/**
 * Two projects: `unit` needs nothing but Node (mocks and a throwaway PostgreSQL the API tests
 * start themselves); `live` deploys the real program onto the local Docker engine.
 */
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/live/**", "node_modules/**"],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: "live",
          include: ["test/live/**/*.test.ts"],
          globalSetup: ["test/live/global-setup.ts"],
          testTimeout: 900_000,
          hookTimeout: 1_200_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
