import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildZipapp, InstallerFiles } from './installer-files';

function hasPython(): boolean {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Entry names of a zip, as Python's zipfile lists them. */
function names(file: string): string[] {
  const script = 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))';
  return execFileSync('python3', ['-c', script, file]).toString().trim().split('\n');
}

describe('the installer zipapp and files', () => {
  const python = hasPython() ? it : it.skip;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'installer-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  python(
    'builds a runnable zipapp from a package directory (fixture), skipping caches and tests',
    async () => {
      const pkg = join(dir, 'cw_install');
      mkdirSync(join(pkg, '__pycache__'), { recursive: true });
      mkdirSync(join(pkg, 'tests'), { recursive: true });
      mkdirSync(join(pkg, 'sub'), { recursive: true });
      writeFileSync(join(pkg, '__init__.py'), '');
      writeFileSync(join(pkg, 'sub', '__init__.py'), '');
      writeFileSync(join(pkg, 'sub', 'detect.py'), 'def kind():\n    return "cpu"\n');
      writeFileSync(
        join(pkg, '__main__.py'),
        'import sys\nfrom .sub.detect import kind\nfrom cw_install.sub import detect\n' +
          'print("usage: cw-installer", kind(), detect.kind(), sys.argv[1:])\n',
      );
      writeFileSync(join(pkg, '__pycache__', 'x.cpython-311.pyc'), 'junk');
      writeFileSync(join(pkg, 'tests', 'test_x.py'), 'raise SystemExit(3)');
      writeFileSync(join(pkg, 'notes.txt'), 'not python');
      const zip = await buildZipapp(dir);
      const file = join(dir, 'cw-installer.pyz');
      writeFileSync(file, zip);
      expect(names(file)).toEqual([
        '__main__.py',
        'cw_install/__init__.py',
        'cw_install/__main__.py',
        'cw_install/sub/__init__.py',
        'cw_install/sub/detect.py',
      ]);
      expect(execFileSync('python3', [file, '--help']).toString()).toBe(
        "usage: cw-installer cpu cpu ['--help']\n",
      );
    },
  );

  it('InstallerFiles caches the zipapp until a source changes, and answers 404 without the package', async () => {
    const files = new InstallerFiles(dir);
    await expect(files.zipapp()).rejects.toThrow(/missing from this build/);
    await expect(files.script('install.sh')).rejects.toThrow(/install\.sh is missing/);
    mkdirSync(join(dir, 'cw_install'));
    writeFileSync(join(dir, 'cw_install', '__main__.py'), 'print(1)\n');
    const first = await files.zipapp();
    expect(await files.zipapp()).toBe(first);
    writeFileSync(join(dir, 'cw_install', '__main__.py'), 'print(22)\n');
    const second = await files.zipapp();
    expect(second.etag).not.toBe(first.etag);
    writeFileSync(join(dir, 'install.sh'), '#!/bin/sh\n');
    expect((await files.script('install.sh')).contentType).toMatch(/^text\/x-shellscript/);
  });
});
