import { describe, expect, it } from 'vitest';
import { missingNodeFlags, PRODUCTION_NODE_FLAGS } from '../src/node-flags.js';

describe('production Node flags', () => {
  it('are all missing from a bare process', () => {
    expect(missingNodeFlags([], '')).toEqual([...PRODUCTION_NODE_FLAGS]);
  });

  it('count as given with any value, on the command line or in NODE_OPTIONS (the operator wins)', () => {
    expect(missingNodeFlags(['--max-semi-space-size=32', '--experimental-async-context-frame'], '')).toEqual(
      [],
    );
    expect(missingNodeFlags([], '--max_semi_space_size=2 --experimental-async-context-frame')).toEqual([]);
    expect(missingNodeFlags(['--conditions=x'], '--max-semi-space-size=16')).toEqual([
      '--experimental-async-context-frame',
    ]);
  });
});
