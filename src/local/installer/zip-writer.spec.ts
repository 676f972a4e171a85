import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { writeZip } from './zip-writer';

function hasPython(): boolean {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Reads the central directory back (independently of the writer's own layout code). */
function listCentral(zip: Buffer): Array<{ name: string; method: number; size: number; data: Buffer }> {
  const end = zip.length - 22;
  expect(zip.readUInt32LE(end)).toBe(0x06054b50);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const out = [];
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString();
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    out.push({ name, method, size, data: method === 8 ? inflateRawSync(raw) : raw });
    at += 46 + nameLength;
  }
  return out;
}

describe('writeZip', () => {
  const python = hasPython() ? it : it.skip;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zip-writer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores tiny entries, deflates compressible ones, and reads back byte for byte', () => {
    const big = Buffer.from('print("hello")\n'.repeat(500));
    const zip = writeZip([
      { name: 'a.txt', data: Buffer.from('x') },
      { name: 'dir/b.py', data: big },
      { name: 'empty', data: Buffer.alloc(0) },
    ]);
    const entries = listCentral(zip);
    expect(entries.map((e) => [e.name, e.method, e.size])).toEqual([
      ['a.txt', 0, 1],
      ['dir/b.py', 8, big.length],
      ['empty', 0, 0],
    ]);
    expect(entries[1].data.equals(big)).toBe(true);
  });

  it('is deterministic and refuses unsafe or duplicate names', () => {
    const entries = [{ name: 'x.py', data: Buffer.from('pass\n') }];
    expect(writeZip(entries).equals(writeZip(entries))).toBe(true);
    for (const name of ['/abs', '../up', 'a/../../b', 'a\\b', ''])
      expect(() => writeZip([{ name, data: Buffer.alloc(1) }])).toThrow(/bad zip entry/);
    expect(() => writeZip([...entries, ...entries])).toThrow(/duplicate/);
  });

  python('is a zip Python reads, with CRCs it checks (python3 -m zipfile -t)', () => {
    const file = join(dir, 'out.zip');
    writeFileSync(
      file,
      writeZip([
        { name: 'a.txt', data: Buffer.from('hello') },
        { name: 'pkg/ü.py', data: Buffer.from('x = 1\n'.repeat(300)) },
      ]),
    );
    expect(execFileSync('python3', ['-m', 'zipfile', '-t', file]).toString()).toMatch(/Done testing/);
    const listing = execFileSync('python3', ['-m', 'zipfile', '-l', file]).toString();
    expect(listing).toContain('pkg/ü.py');
  });
});
