import { describe, expect, it } from 'vitest';
import { render } from '@testing-library/react';
import { JsonView } from '../../src/components/JsonView';

describe('<JsonView>', () => {
  it('marks failing lines for sighted and screen-reader users', () => {
    const { container } = render(<JsonView value={{ event_type: 5, payload: {} }} failingPaths={['/event_type']} />);
    const hl = container.querySelectorAll('[data-highlighted="true"]');
    expect(hl).toHaveLength(1);
    expect(hl[0].getAttribute('data-pointer')).toBe('/event_type');
    expect(hl[0].textContent).toContain('failing:');
    expect(hl[0].textContent).toContain('"event_type": 5');
  });
});
