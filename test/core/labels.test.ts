import { CONFIG_CHECKSUM_ANNOTATION, componentLabels, selectorLabels } from '../../lib/core/labels';

describe('componentLabels', () => {
  it('does render the standard labels (change detector)', () => {
    expect({ labels: componentLabels('temporal', 'history'), annotation: CONFIG_CHECKSUM_ANNOTATION }).toMatchSnapshot();
  });

  it('does select on a subset of the labels', () => {
    const labels = componentLabels('temporal', 'history');
    for (const [key, value] of Object.entries(selectorLabels('temporal', 'history'))) {
      expect(labels[key]).toBe(value);
    }
  });

  it('does tell instances and components apart in selectors', () => {
    expect(selectorLabels('a', 'history')).not.toEqual(selectorLabels('b', 'history'));
    expect(selectorLabels('a', 'history')).not.toEqual(selectorLabels('a', 'matching'));
  });
});
