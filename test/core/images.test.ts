import { DEFAULT_IMAGES, IMAGE_USERS, TEMPORAL_VERSION, requirePinnedImage } from '../../lib/core/images';
import { imageProblem } from '../checks/hygiene';
import { expectValidationError } from '../util';

describe('requirePinnedImage', () => {
  it('does pin the same default images as before (change detector)', () => {
    expect({ DEFAULT_IMAGES, IMAGE_USERS }).toMatchSnapshot();
  });

  it('does pin every default image to an exact tag', () => {
    for (const image of Object.values(DEFAULT_IMAGES)) {
      expect([image, imageProblem(image)]).toEqual([image, undefined]);
      expect(requirePinnedImage('test', 'image', image, DEFAULT_IMAGES.server)).toBe(image);
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
    expect(requirePinnedImage('test', 'image', image, DEFAULT_IMAGES.server)).toBe(image);
  });

  it.each([
    'temporalio/server:latest',
    'temporalio/server',
    'temporalio/server:',
    'registry.example.com:5000/temporalio/server',
    'registry.example.com:5000/temporalio/server:latest',
  ])('fails when image is %j', (image) => {
    const err = expectValidationError(() => requirePinnedImage('test/Cluster', 'serverImage', image, DEFAULT_IMAGES.server), 'INVALID_IMAGE',
      { path: 'test/Cluster', value: JSON.stringify(image) });
    expect(err.message).toContain('serverImage must be pinned');
    expect(err.fix).toContain('"temporalio/server:1.31.2"');
  });

  it('does suggest the default image of the field it checks, not another one', () => {
    const err = expectValidationError(() => requirePinnedImage('test/WebUi', 'image', 'temporalio/ui:latest', DEFAULT_IMAGES.ui),
      'INVALID_IMAGE', { path: 'test/WebUi' });
    expect(err.fix).toContain('"temporalio/ui:2.52.0"');
    expect(err.fix).not.toContain('temporalio/server');
  });

  // The whole reference is checked against the distribution grammar, not only the tag.
  it.each([
    'temporalio/server:1.31.2 ', ' temporalio/server:1.31.2', 'Temporalio/Server:1.31.2', 'temporalio/server@sha256:zz',
  ])('fails when image %j is not a valid reference', (image) => {
    expectValidationError(() => requirePinnedImage('test/Cluster', 'serverImage', image, DEFAULT_IMAGES.server), 'INVALID_IMAGE',
      { path: 'test/Cluster', value: JSON.stringify(image) });
  });
});
