import { contentName } from '../../lib/core/content-name';

describe('contentName', () => {
  it('does append an 8-hex-digit hash of the content', () => {
    expect(contentName('temporal-schema-default', { a: 1 })).toMatch(/^temporal-schema-default-[0-9a-f]{8}$/);
  });

  it('does give the same name for the same content and another for other content', () => {
    expect(contentName('p', { image: 'x:1' })).toBe(contentName('p', { image: 'x:1' }));
    expect(contentName('p', { image: 'x:1' })).not.toBe(contentName('p', { image: 'x:2' }));
  });
});
