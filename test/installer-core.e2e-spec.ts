import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The installer's Python core (installer/cw_install, standard library only) has its own unittest suite: GPU
 * detection with stand-in tools on the PATH, install plans, the resumable downloader against a local server,
 * generated service files, registration. It runs here so that `npm test` covers it. Python 3.9+ is needed;
 * without it the suite is skipped on a developer machine and fails in CI (CI=true).
 */
// Jest runs from the repository's root (rootDir '.').
const root = process.cwd();

function python(): string | null {
  for (const candidate of ['python3', 'python']) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info >= (3, 9))'], {
      encoding: 'utf8',
    });
    if (probe.status === 0 && probe.stdout.trim() === 'True') return candidate;
  }
  return null;
}

const interpreter = python();
const describeIfPython = interpreter || process.env.CI === 'true' ? describe : describe.skip;

describeIfPython('installer core (Python unittest suite)', () => {
  it('passes', () => {
    expect(interpreter).not.toBeNull();
    const run = spawnSync(
      interpreter!,
      ['-m', 'unittest', 'discover', '-s', join('installer', 'tests'), '-t', 'installer'],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      },
    );
    if (run.status !== 0) process.stderr.write(`${run.stdout}\n${run.stderr}`);
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(0);
    // unittest prints "Ran N tests" and "OK" (possibly "OK (skipped=k)") on stderr.
    expect(run.stderr).toMatch(/Ran [1-9]\d* tests?/);
    expect(run.stderr).toMatch(/\nOK\b/);
  }, 300_000);
});

const shellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' }).status === 0;
const describeIfShellcheck = shellcheck || process.env.CI === 'true' ? describe : describe.skip;

describeIfShellcheck('installer bootstrap (shellcheck)', () => {
  it('install.sh has no shellcheck findings', () => {
    const run = spawnSync('shellcheck', ['--shell=bash', join('installer', 'install.sh')], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(run.error).toBeUndefined();
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
