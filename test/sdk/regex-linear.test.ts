import { ESLint } from 'eslint';
import regexp from 'eslint-plugin-regexp';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('regular expressions in src/', () => {
  it('none backtracks or moves super-linearly (request input reaches them)', async () => {
    const eslint = new ESLint({
      cwd: ROOT,
      overrideConfigFile: true,
      overrideConfig: [
        {
          files: ['**/*.ts'],
          languageOptions: { parser: tseslint.parser },
          linterOptions: { reportUnusedDisableDirectives: 'off' },
          plugins: { regexp },
          rules: {
            'regexp/no-super-linear-backtracking': 'error',
            'regexp/no-super-linear-move': 'error',
          },
        },
      ],
    });
    const results = await eslint.lintFiles(['src/**/*.ts']);
    const problems = results.flatMap((r) => r.messages.filter((m) => m.ruleId?.startsWith('regexp/') !== false).map((m) => `${r.filePath.slice(ROOT.length)}:${m.line}:${m.column} ${m.message}`));
    expect(problems).toEqual([]);
  });
});
