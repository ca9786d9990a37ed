// What `npm test` installs on a machine that lacks the system tools some tests
// need (test/setup/system-tools.mjs), probed for real in an environment made
// to lack them: a PATH without docker-compose, a Python (a fresh venv) without
// chdb or pip, and no Chromium at the probed path. Dry runs: nothing is installed.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript (it runs before node_modules exists): no type declarations
import { ensureTestTools, onPath, planTestTools, probeTestTools } from './system-tools.mjs';

let scratch: string;
let bin: string;
// The venv's own bin: a symlink to its python elsewhere would not be seen as a venv.
let venvBin: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'system-tools-'));
  bin = join(scratch, 'bin');
  await mkdir(bin);
  const python = onPath('python3');
  if (!python) throw new Error('python3 is needed to build the test environment');
  const venv = join(scratch, 'venv');
  const made = spawnSync(python, ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`cannot create a venv: ${made.stderr}`);
  venvBin = join(venv, 'bin');
  const aptGet = onPath('apt-get');
  if (aptGet) await symlink(aptGet, join(bin, 'apt-get'));
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const env = () => ({ PATH: `${venvBin}:${bin}`, HOME: scratch });
const noChromium = () => join(scratch, 'no-chromium');

describe('system tools for the tests', () => {
  it('finds what is missing', () => {
    expect(probeTestTools({ env: env(), chromium: noChromium() })).toEqual({
      chromium: false,
      dockerCompose: false,
      python3: join(venvBin, 'python3'),
      pip: false,
      chdb: false,
    });
  });

  it('plans apt-get for Chromium and docker-compose, and pip (after ensurepip) for chdb, as root', () => {
    const plan = planTestTools(probeTestTools({ env: env(), chromium: noChromium() }), {
      env: env(),
      root: true,
    });
    if (!onPath('apt-get')) {
      expect(plan.problems.join('\n')).toMatch(/no apt-get on PATH/);
      return;
    }
    expect(plan).toEqual({
      apt: ['chromium', 'docker-compose'],
      aptGet: join(bin, 'apt-get'),
      python: [
        [join(venvBin, 'python3'), '-m', 'ensurepip', '--upgrade'],
        [join(venvBin, 'python3'), '-m', 'pip', 'install', '-q', '--disable-pip-version-check', 'chdb'],
      ],
      problems: [],
    });
  });

  it('says what to install when it cannot (not root)', () => {
    const logged: string[] = [];
    const { plan } = ensureTestTools({
      env: env(),
      chromium: noChromium(),
      dryRun: true,
      log: (line: string) => logged.push(line),
    });
    if (process.getuid?.() === 0 && onPath('apt-get')) {
      expect(plan.apt).toEqual(['chromium', 'docker-compose']);
    }
    const notRoot = planTestTools(probeTestTools({ env: env(), chromium: noChromium() }), {
      env: env(),
      root: false,
    });
    expect(notRoot.apt).toEqual([]);
    expect(notRoot.problems).toEqual([
      expect.stringMatching(
        /missing chromium, docker-compose .*not root.*apt-get install chromium docker-compose/,
      ),
    ]);
    // pip needs no root: chdb is still planned.
    expect(notRoot.python.at(-1)).toContain('chdb');
    expect(logged.every((line) => line.startsWith('[bootstrap] '))).toBe(true);
  });
});
