import { mkdirSync, mkdtempSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesSource, folderSource, Reloadable, Reloader, Snapshot, Source, Watched } from '../../../services/security/reload';

const folder = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
const names = (snapshot: Snapshot) => snapshot.files.map((f) => f.name);
const texts = (snapshot: Snapshot) => snapshot.files.map((f) => f.content.toString());

describe('filesSource', () => {
  it('does read the given files in the given order', () => {
    const dir = folder('files-');
    writeFileSync(join(dir, 'b.crt'), 'B');
    writeFileSync(join(dir, 'a.crt'), 'A');
    const snapshot = filesSource(join(dir, 'b.crt'), join(dir, 'a.crt'))();
    expect(names(snapshot)).toEqual([join(dir, 'b.crt'), join(dir, 'a.crt')]);
    expect(texts(snapshot)).toEqual(['B', 'A']);
    expect(snapshot.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does give the same digest for the same contents, however often the files are touched', () => {
    const dir = folder('files-');
    const file = join(dir, 'ca.crt');
    writeFileSync(file, 'CA');
    const source = filesSource(file);
    const before = source().digest;
    writeFileSync(file, 'CA');
    utimesSync(file, new Date('2031-01-01T00:00:00Z'), new Date('2031-01-01T00:00:00Z'));
    expect(source().digest).toBe(before);
    writeFileSync(file, 'CB');
    expect(source().digest).not.toBe(before);
  });

  it('fails when a file cannot be read', () => {
    expect(() => filesSource(join(folder('files-'), 'missing.crt'))()).toThrow(/ENOENT/);
  });
});

describe('folderSource', () => {
  it('does digest a file by its relative name, length and content', () => {
    const dir = folder('folder-');
    writeFileSync(join(dir, 'a'), 'x');
    // SHA-256 of "a\01\0x", worked out with sha256sum.
    expect(folderSource(dir)().digest).toBe('87898619c5d0f3bfb6e8917ff8d8477e56456331d07ec0a674183ca9aad95a93');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'b'), 'yy');
    // SHA-256 of "a\01\0xsub/b\02\0yy".
    expect(folderSource(dir)().digest).toBe('d4d8b95ae91c0057774351f26790f5a1af2c42a0a7cf2bac54851f3000b1f825');
  });

  it('does read sub-folders by relative path, in order', () => {
    const dir = folder('folder-');
    mkdirSync(join(dir, 'ns', 'orders'), { recursive: true });
    writeFileSync(join(dir, 'ns', 'orders', 'key'), 'K');
    writeFileSync(join(dir, 'b'), 'B');
    writeFileSync(join(dir, 'a'), 'A');
    const snapshot = folderSource(dir)();
    expect(names(snapshot)).toEqual(['a', 'b', join('ns', 'orders', 'key')]);
    expect(texts(snapshot)).toEqual(['A', 'B', 'K']);
  });

  it('does order names by their UTF-16 code units', () => {
    const dir = folder('folder-');
    writeFileSync(join(dir, '\uff61'), '1');
    writeFileSync(join(dir, '\u{1f600}'), '2');
    expect(names(folderSource(dir)())).toEqual(['\u{1f600}', '\uff61']);
  });

  it('does leave out the kubelet\'s own entries of a mounted Secret, following the plain names into them', () => {
    const dir = folder('folder-');
    mkdirSync(join(dir, '..2026_12_07_00_00_00.1'));
    writeFileSync(join(dir, '..2026_12_07_00_00_00.1', 'ca.crt'), 'CA');
    symlinkSync('..2026_12_07_00_00_00.1', join(dir, '..data'));
    symlinkSync(join('..data', 'ca.crt'), join(dir, 'ca.crt'));
    writeFileSync(join(dir, '..hidden-file'), 'H');
    const snapshot = folderSource(dir)();
    expect(names(snapshot)).toEqual(['ca.crt']);
    expect(texts(snapshot)).toEqual(['CA']);
  });

  it('does keep a name that only contains or ends in dots', () => {
    const dir = folder('folder-');
    writeFileSync(join(dir, 'a..b'), '1');
    writeFileSync(join(dir, 'c..'), '2');
    writeFileSync(join(dir, '.d'), '3');
    expect(names(folderSource(dir)())).toEqual(['.d', 'a..b', 'c..']);
  });

  it('does give the same digest after a touch or an atomic swap to equal contents, another after a change', () => {
    const dir = folder('folder-');
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'ca.crt'), 'CA');
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'ca.crt'), join(dir, 'ca.crt'));
    const source = folderSource(dir);
    const before = source().digest;
    utimesSync(join(dir, '..v1', 'ca.crt'), new Date('2031-01-01T00:00:00Z'), new Date('2031-01-01T00:00:00Z'));
    expect(source().digest).toBe(before);
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'ca.crt'), 'CA');
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    expect(source().digest).toBe(before);
    writeFileSync(join(dir, '..v2', 'ca.crt'), 'CB');
    expect(source().digest).not.toBe(before);
  });

  it('does tell apart contents split differently across files, and a renamed file', () => {
    const split = (a: string, b: string) => {
      const dir = folder('folder-');
      writeFileSync(join(dir, 'a'), a);
      writeFileSync(join(dir, 'b'), b);
      return folderSource(dir)().digest;
    };
    expect(split('xy', 'z')).not.toBe(split('x', 'yz'));
    const one = folder('folder-');
    writeFileSync(join(one, 'a'), 'x');
    const other = folder('folder-');
    writeFileSync(join(other, 'b'), 'x');
    expect(folderSource(one)().digest).not.toBe(folderSource(other)().digest);
  });

  it('does leave out what is neither a file nor a folder', async () => {
    const dir = folder('folder-');
    writeFileSync(join(dir, 'a'), 'A');
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'socket'), resolve));
    try {
      expect(names(folderSource(dir)())).toEqual(['a']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails when the folder cannot be read', () => {
    expect(() => folderSource(join(folder('folder-'), 'missing'))()).toThrow(/ENOENT/);
  });
});

/** A source whose contents the test sets. */
function settable(initial: string): { source: Source; set: (text: string) => void; reads: () => number } {
  let text = initial;
  let reads = 0;
  return {
    source: () => {
      reads += 1;
      return { digest: `digest of ${text}`, files: [{ name: 'file', content: Buffer.from(text) }] };
    },
    set: (next) => {
      text = next;
    },
    reads: () => reads,
  };
}

const parseNumber = (snapshot: Snapshot): number => {
  const value = Number(snapshot.files[0].content.toString());
  if (Number.isNaN(value)) {
    throw new Error('not a number');
  }
  return value;
};

describe('Watched', () => {
  it('does read and parse at once', () => {
    const { source } = settable('1');
    const watched = new Watched('the number', source, parseNumber);
    expect(watched.value).toBe(1);
    expect(watched.what).toBe('the number');
  });

  it('does parse again only when the contents changed', () => {
    const { source, set, reads } = settable('1');
    const parse = jest.fn(parseNumber);
    const watched = new Watched('n', source, parse);
    expect(watched.reload()).toBe(false);
    expect(parse).toHaveBeenCalledTimes(1);
    set('2');
    expect(watched.reload()).toBe(true);
    expect(watched.value).toBe(2);
    expect(parse).toHaveBeenCalledTimes(2);
    expect(watched.reload()).toBe(false);
    expect(parse).toHaveBeenCalledTimes(2);
    expect(reads()).toBe(4);
  });

  it('does keep the previous value when the new contents do not parse, and try them again on the next reload', () => {
    const { source, set } = settable('1');
    const watched = new Watched('n', source, parseNumber);
    set('x');
    expect(() => watched.reload()).toThrow('not a number');
    expect(watched.value).toBe(1);
    expect(() => watched.reload()).toThrow('not a number');
    set('3');
    expect(watched.reload()).toBe(true);
    expect(watched.value).toBe(3);
  });

  it('does take back contents equal to the first ones after a change', () => {
    const { source, set } = settable('1');
    const watched = new Watched('n', source, parseNumber);
    set('2');
    watched.reload();
    set('1');
    expect(watched.reload()).toBe(true);
    expect(watched.value).toBe(1);
  });

  it('fails when the source does not read or parse at start', () => {
    expect(() => new Watched('n', () => {
      throw new Error('ENOENT');
    }, parseNumber)).toThrow('ENOENT');
    expect(() => new Watched('n', settable('x').source, parseNumber)).toThrow('not a number');
  });
});

/** A reloadable whose next answer the test sets. */
function item(what: string, answers: (() => boolean | Promise<boolean>)[], onChange?: () => void): Reloadable & { onChange?: () => void } {
  return { what, reload: () => (answers.shift() ?? (() => false))(), ...(onChange ? { onChange } : {}) };
}

function recorder(): { events: { changed: jest.Mock; failed: jest.Mock }; log: string[] } {
  const log: string[] = [];
  return {
    log,
    events: {
      changed: jest.fn((what: string) => log.push(`changed ${what}`)),
      failed: jest.fn((what: string, error: Error) => log.push(`failed ${what}: ${error.message}`)),
    },
  };
}

describe('Reloader', () => {
  it('does reload every item, one failing item not stopping the next', async () => {
    const { events, log } = recorder();
    const reloader = new Reloader([
      item('policy', [() => {
        throw new Error('policy.json is not JSON');
      }]),
      item('ca bundle', [() => true]),
      item('keys', [() => false]),
    ], events);
    await reloader.reload();
    expect(log).toEqual(['failed policy: policy.json is not JSON', 'changed ca bundle']);
    expect(events.failed.mock.calls[0][1]).toBeInstanceOf(Error);
    expect(reloader.failures()).toEqual(['policy']);
  });

  it('does call onChange only when an item changed, before telling the events', async () => {
    const { events, log } = recorder();
    const reloader = new Reloader([
      item('a', [() => false, () => true], () => log.push('onChange a')),
      item('b', [() => true]),
    ], events);
    await reloader.reload();
    expect(log).toEqual(['changed b']);
    await reloader.reload();
    expect(log).toEqual(['changed b', 'onChange a', 'changed a']);
  });

  it('does wait for an asynchronous reload, and count its rejection as a failure', async () => {
    const { events, log } = recorder();
    const reloader = new Reloader([
      item('unchanged', [() => Promise.resolve(false)]),
      item('changed', [() => Promise.resolve(true)]),
      item('broken', [() => Promise.reject(new Error('unreachable'))]),
    ], events);
    await reloader.reload();
    expect(log).toEqual(['changed changed', 'failed broken: unreachable']);
    expect(reloader.failures()).toEqual(['broken']);
  });

  it('does wrap what is thrown that is not an Error', async () => {
    const { events } = recorder();
    const reloader = new Reloader([item('odd', [() => {
      throw 'a string';
    }])], events);
    await reloader.reload();
    const error = events.failed.mock.calls[0][1] as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('a string');
  });

  it('does keep the failing items sorted, and forget an item once it reloads, changed or not', async () => {
    const { events } = recorder();
    const fail = () => {
      throw new Error('no');
    };
    const reloader = new Reloader([item('b', [fail, fail, () => false]), item('a', [fail, () => true])], events);
    expect(reloader.failures()).toEqual([]);
    await reloader.reload();
    expect(reloader.failures()).toEqual(['a', 'b']);
    await reloader.reload();
    expect(reloader.failures()).toEqual(['b']);
    await reloader.reload();
    expect(reloader.failures()).toEqual([]);
  });

  it('does reload on each tick of its timer, which does not keep the process alive, until stopped', async () => {
    const unref = jest.fn();
    const timer = { unref } as unknown as NodeJS.Timeout;
    let tick: (() => void) | undefined;
    const setInterval = jest.spyOn(global, 'setInterval').mockImplementation(((callback: () => void) => {
      tick = callback;
      return timer;
    }) as typeof global.setInterval);
    const clearInterval = jest.spyOn(global, 'clearInterval').mockImplementation(() => undefined);
    try {
      const reload = jest.fn(() => true);
      const { events } = recorder();
      const reloader = new Reloader([{ what: 'x', reload }], events);
      reloader.start(30_000);
      expect(setInterval).toHaveBeenCalledWith(expect.any(Function), 30_000);
      expect(unref).toHaveBeenCalledTimes(1);
      expect(reload).not.toHaveBeenCalled();
      tick?.();
      await Promise.resolve();
      expect(reload).toHaveBeenCalledTimes(1);
      expect(events.changed).toHaveBeenCalledWith('x');
      reloader.stop();
      expect(clearInterval).toHaveBeenCalledWith(timer);
    } finally {
      setInterval.mockRestore();
      clearInterval.mockRestore();
    }
  });
});
