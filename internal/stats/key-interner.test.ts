import { describe, expect, it } from 'vitest';
import { KeyInterner } from './key-interner.js';

describe('KeyInterner', () => {
  it('gives back an equal key, and forgets keys not seen for a whole generation', () => {
    const keys = new KeyInterner();
    expect(keys.intern('Alice')).toBe('Alice');
    keys.intern('Bob');
    expect(keys.size).toBe(2);
    keys.rotate();
    expect(keys.intern('Alice')).toBe('Alice'); // seen again: carried into the new generation
    keys.rotate();
    // Bob was not seen for a generation: gone; Alice is in the previous one.
    expect(keys.size).toBe(1);
    keys.rotate();
    expect(keys.size).toBe(0);
  });
});
