// System tools that some tests need beyond the node packages, installed by
// `npm test` (scripts/bootstrap.mjs) when missing, as `npm run demo` installs
// ClickHouse (infra/local/stack.ts): with apt-get as root, else a message that
// says what to install. Each test that needs one also fails naming it, never skips.
//
//   chromium        (Debian)  test/browser: the dashboard in headless Chromium
//   docker-compose  (Debian)  test/infra/compose: docker-compose.yml stays valid
//   chdb            (PyPI)    test/clickhouse/modern-clickhouse: the SQL on a current ClickHouse
//
// Plain Node, no dependencies: it runs before node_modules exists. `dryRun`
// returns the plan without running it (test/setup/system-tools.test.ts).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where the browser test looks for Chromium (Debian's package puts it there). */
export const CHROMIUM = '/usr/bin/chromium';

/** The absolute path of executable `name` on env.PATH, or null. */
export function onPath(name, env = process.env) {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function succeeds(cmd, args, env) {
  const run = spawnSync(cmd, args, { env, stdio: 'ignore' });
  return run.error === undefined && run.status === 0;
}

/** What is there now. */
export function probeTestTools({ env = process.env, chromium = CHROMIUM } = {}) {
  const python3 = onPath('python3', env);
  return {
    chromium: existsSync(chromium),
    dockerCompose: onPath('docker-compose', env) !== null,
    python3,
    pip: python3 !== null && succeeds(python3, ['-m', 'pip', '--version'], env),
    chdb: python3 !== null && succeeds(python3, ['-c', 'import chdb'], env),
  };
}

/**
 * The steps that bring the missing tools in: `{ apt: [packages], python: [[cmd, ...args]], problems: [text] }`.
 * apt packages only when apt-get can run (root, apt-get on PATH); otherwise a problem naming them.
 */
export function planTestTools(probe, { env = process.env, root = process.getuid?.() === 0 } = {}) {
  const apt = [];
  const python = [];
  const problems = [];
  if (!probe.chromium) apt.push('chromium');
  if (!probe.dockerCompose) apt.push('docker-compose');
  if (!probe.chdb) {
    if (!probe.python3) apt.push('python3', 'python3-pip');
    // A venv or pyenv Python brings its own pip with ensurepip; Debian's needs python3-pip.
    else if (!probe.pip) python.push([probe.python3, '-m', 'ensurepip', '--upgrade']);
    python.push([
      probe.python3 ?? 'python3',
      '-m',
      'pip',
      'install',
      '-q',
      '--disable-pip-version-check',
      'chdb',
    ]);
  }
  const aptGet = onPath('apt-get', env);
  if (apt.length > 0 && (!root || !aptGet)) {
    problems.push(
      `missing ${apt.join(', ')} and cannot install ${apt.length > 1 ? 'them' : 'it'} ` +
        `(${root ? 'no apt-get on PATH' : 'not root'}): install with \`apt-get install ${apt.join(' ')}\`` +
        ' (Debian) or your system’s packages; the tests that need them fail until then',
    );
    apt.length = 0;
  }
  return { apt, aptGet, python, problems };
}

function run(cmd, args, env, log) {
  log(`[bootstrap] ${[cmd, ...args].join(' ')}`);
  const result = spawnSync(cmd, args, { env, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (result.stderr) process.stderr.write(result.stderr);
  return { ok: result.error === undefined && result.status === 0, stderr: result.stderr ?? '' };
}

/**
 * Installs what the tests need and is missing; never throws (the tests that
 * need a tool still fail naming it). Returns the plan it ran, and what is still missing.
 */
export function ensureTestTools({
  env = process.env,
  chromium = CHROMIUM,
  dryRun = false,
  log = console.error,
} = {}) {
  const plan = planTestTools(probeTestTools({ env, chromium }), { env });
  for (const problem of plan.problems) log(`[bootstrap] ${problem}`);
  if (dryRun || (plan.apt.length === 0 && plan.python.length === 0)) return { plan, missing: [] };

  const root = process.getuid?.() === 0;
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  let updated = false;
  const aptInstall = (packages) => {
    log(`[bootstrap] installing ${packages.join(', ')} for the tests (apt-get, first run only)`);
    if (!updated) run(plan.aptGet, ['update', '-qq'], aptEnv, log);
    updated = true;
    return run(plan.aptGet, ['install', '-y', '-qq', ...packages], aptEnv, log).ok;
  };
  if (plan.apt.length > 0) aptInstall(plan.apt);
  for (const [cmd, ...args] of plan.python) {
    const python = cmd === 'python3' ? (onPath('python3', env) ?? cmd) : cmd;
    const result = run(python, args, env, log);
    if (result.ok) continue;
    // Debian disables ensurepip for its own Python: its pip is the python3-pip package.
    if (args.includes('ensurepip') && root && plan.aptGet) aptInstall(['python3-pip']);
    // Debian's own Python refuses pip installs outside a venv (PEP 668); as root
    // on a test machine, installing beside it (/usr/local) is what CI wants.
    else if (/externally-managed-environment/.test(result.stderr) && root) {
      run(python, [...args, '--break-system-packages'], env, log);
    }
  }
  const after = probeTestTools({ env, chromium });
  const missing = [
    ...(after.chromium ? [] : [`chromium (${chromium})`]),
    ...(after.dockerCompose ? [] : ['docker-compose']),
    ...(after.chdb ? [] : ['chdb (python3 -m pip install chdb)']),
  ];
  if (missing.length > 0) {
    log(`[bootstrap] still missing for the tests: ${missing.join(', ')}; the tests that need them will fail`);
  }
  return { plan, missing };
}
