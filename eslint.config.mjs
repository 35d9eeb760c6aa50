// Lint rules for every TypeScript source in the project (infra, app, tests, tools).
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", ".build/**", ".live/**", "**/dist/**", "policy/node_modules/**"] },
  eslint.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": ["error", { allow: ["error", "warn"] }],
      eqeqeq: ["error", "always"],
    },
  },
  {
    // Command-line tools and benchmarks print their results to stdout on purpose.
    files: ["tools/**/*.ts", "bench/**/*.ts", "test/support/**/*.ts"],
    rules: { "no-console": "off" },
  },
);
