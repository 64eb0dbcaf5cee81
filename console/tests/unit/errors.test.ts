import { describe, expect, it } from 'vitest';
import { CombinedError } from '@urql/core';
import { GraphQLError } from 'graphql';
import { componentHint, errorCode, explainError } from '../../src/lib/errors';

describe('explainError', () => {
  it('tells how to start an unreachable service', () => {
    const e = explainError(new CombinedError({ networkError: new TypeError('Failed to fetch') }), 'statistics');
    expect(e.title).toBe('The graphql service is not reachable');
    expect(e.hint).toContain('make up');
  });
  it('maps error codes to what the operator can do', () => {
    const forbidden = new CombinedError({ graphQLErrors: [new GraphQLError('admin only', { extensions: { code: 'FORBIDDEN' } })] });
    expect(errorCode(forbidden)).toBe('FORBIDDEN');
    expect(explainError(forbidden, 'Replay').title).toBe('Replay needs the admin token');
    const unauth = new CombinedError({ graphQLErrors: [new GraphQLError('no', { extensions: { code: 'UNAUTHENTICATED' } })] });
    expect(explainError(unauth).hint).toContain('Sign out');
    const bad = new CombinedError({ graphQLErrors: [new GraphQLError('rateLimitPerMinute must be positive', { extensions: { code: 'BAD_USER_INPUT' } })] });
    expect(explainError(bad).title).toBe('rateLimitPerMinute must be positive');
  });
  it('names the command for a component that is down', () => {
    expect(componentHint('processor')).toBe('processor not running — run `make up`');
    expect(componentHint('kafka')).toContain('make up');
  });
});
