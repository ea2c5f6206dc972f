import { describe, expect, it } from 'vitest';
import { sampleOf } from '../../web/docs/sample.js';

// The /docs page's "Try it" starts each JSON body from sampleOf(the operation's schema).
const components = {
  schemas: {
    Login: {
      type: 'object',
      properties: {
        email: { type: 'string', format: 'email' },
        password: { type: 'string', minLength: 8 },
        remember_me: { type: 'boolean' },
      },
      required: ['email', 'password'],
    },
    Ids: {
      type: 'object',
      properties: { item_ids: { type: 'array', items: { type: 'integer' }, minItems: 1 } },
    },
  },
};

describe('sampleOf', () => {
  it('follows a $ref and fills the required properties only, each by its format and bounds', () => {
    expect(sampleOf({ $ref: '#/components/schemas/Login' }, components)).toEqual({
      email: 'user@example.com',
      password: 'stringxx',
    });
  });

  it('fills every property of an object that requires none, and one item of an array that needs one', () => {
    expect(sampleOf({ $ref: '#/components/schemas/Ids' }, components)).toEqual({ item_ids: [0] });
  });

  it('prefers an example, a default, a const and the first enum value; skips null variants', () => {
    expect(sampleOf({ type: 'string', example: 'a red fox' }, components)).toBe('a red fox');
    expect(sampleOf({ type: 'integer', default: 20 }, components)).toBe(20);
    expect(sampleOf({ const: 'noise' }, components)).toBe('noise');
    expect(sampleOf({ type: 'string', enum: ['fifo', 'round_robin'] }, components)).toBe('fifo');
    expect(sampleOf({ anyOf: [{ type: 'null' }, { type: 'integer', minimum: 64 }] }, components)).toBe(64);
    expect(sampleOf({ type: ['string', 'null'] }, components)).toBe('string');
  });
});
