import { DEFAULT_IMAGES, IMAGE_USERS, TEMPORAL_VERSION, requirePinnedImage } from '../../lib/temporal/images';
import { imageProblem } from '../checks/hygiene';
import { expectValidationError } from '../util';

describe('requirePinnedImage', () => {
  it('does pin the same default images as before (change detector)', () => {
    expect({ DEFAULT_IMAGES, IMAGE_USERS }).toMatchSnapshot();
  });

  it('does pin every default image to an exact tag', () => {
    for (const image of Object.values(DEFAULT_IMAGES)) {
      expect([image, imageProblem(image)]).toEqual([image, undefined]);
      expect(requirePinnedImage('test', 'image', image)).toBe(image);
    }
  });

  it('does keep the admin tools on the server version', () => {
    expect(DEFAULT_IMAGES.server).toBe(`temporalio/server:${TEMPORAL_VERSION}`);
    expect(DEFAULT_IMAGES.adminTools).toBe(`temporalio/admin-tools:${TEMPORAL_VERSION}`);
  });

  it('does run every image as a non-root user', () => {
    expect(Object.values(IMAGE_USERS).every((uid) => uid > 0)).toBe(true);
  });

  it.each([
    'temporalio/server:1.31.2',
    'registry.example.com:5000/temporalio/server:1.31.2',
    `temporalio/server@sha256:${'a'.repeat(64)}`,
    `temporalio/server:1.31.2@sha256:${'b'.repeat(64)}`,
  ])('does accept %j', (image) => {
    expect(requirePinnedImage('test', 'image', image)).toBe(image);
  });

  it.each([
    'temporalio/server:latest',
    'temporalio/server',
    'temporalio/server:',
    'registry.example.com:5000/temporalio/server',
    'registry.example.com:5000/temporalio/server:latest',
  ])('fails when image is %j', (image) => {
    const err = expectValidationError(() => requirePinnedImage('test/Cluster', 'serverImage', image), 'INVALID_IMAGE',
      { path: 'test/Cluster', value: JSON.stringify(image) });
    expect(err.message).toContain('serverImage must be pinned');
  });

  // BUG (lib/temporal/images.ts, requirePinnedImage): only the tag is checked, not the reference, so images that
  // can never be pulled pass: surrounding whitespace (the API server rejects it), upper-case repository paths and
  // malformed digests (the kubelet reports InvalidImageName). Fix: match the distribution reference grammar,
  // e.g. /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*
  // (?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/ before the tag/digest check.
  it.each([
    'temporalio/server:1.31.2 ', ' temporalio/server:1.31.2', 'Temporalio/Server:1.31.2', 'temporalio/server@sha256:zz',
  ])('fails when image %j is not a valid reference', (image) => {
    expectValidationError(() => requirePinnedImage('test/Cluster', 'serverImage', image), 'INVALID_IMAGE',
      { path: 'test/Cluster', value: JSON.stringify(image) });
  });
});
