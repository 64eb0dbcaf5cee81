import { describe, expect, it } from 'vitest';
import { href, viewOf } from '../../src/lib/router';

describe('router', () => {
  it('maps paths to views', () => {
    expect(viewOf('/')).toBe('overview');
    expect(viewOf('/dead-letters')).toBe('dead-letters');
    expect(viewOf('/dead-letters/')).toBe('dead-letters');
    expect(viewOf('/sign-in')).toBe('sign-in');
    expect(viewOf('/nope')).toBeNull();
  });
  it('builds links that hold the view state, leaving out empty values', () => {
    expect(href('/dead-letters', { reason: 'MISSING_FIELD', path: '/event_type', tenant: null, open: '' })).toBe('/dead-letters?reason=MISSING_FIELD&path=%2Fevent_type');
    expect(href('/search')).toBe('/search');
  });
});
