import { ByteBudget } from '../../../services/security/budget';
import { jsonFile } from '../../../services/security/reload';

describe('ByteBudget', () => {
  it('does take bytes up to its limit exactly, refuse what would pass it, and give back what is released', () => {
    const budget = new ByteBudget(100);
    expect(budget.reserve(60)).toBe(true);
    expect(budget.reserve(41)).toBe(false);
    expect(budget.bytes).toBe(60);
    expect(budget.reserve(40)).toBe(true);
    expect(budget.bytes).toBe(100);
    expect(budget.reserve(1)).toBe(false);
    budget.release(60);
    expect(budget.bytes).toBe(40);
    expect(budget.reserve(60)).toBe(true);
    expect(budget.reserve(0)).toBe(true);
  });
});

describe('jsonFile', () => {
  const snapshot = (content: string) => ({ digest: 'd', files: [{ name: '/etc/x/policy.json', content: Buffer.from(content) }] });

  it('does hand the parsed JSON and the file name to the validator', () => {
    const seen: unknown[] = [];
    expect(jsonFile(snapshot('{"rules":[]}'), (path, json) => {
      seen.push(path, json);
      return 7;
    })).toBe(7);
    expect(seen).toEqual(['/etc/x/policy.json', { rules: [] }]);
  });

  it('fails on a file that is not JSON, naming it and nothing of its content', () => {
    expect(() => jsonFile(snapshot('{"rules": [secret'), () => 1)).toThrow(/^\/etc\/x\/policy\.json is not JSON$/);
  });
});
