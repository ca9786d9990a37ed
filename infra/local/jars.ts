// Runtime jars of a small pom (infra/kafka, infra/zookeeper) from Maven
// Central, copied once into a cache folder under the repo's .local/ and
// shared by every state folder (single-node stack and cluster): a second
// start needs no download.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { onPath } from './processes.ts';
import { StackError } from './settings.ts';

export interface JarSet {
  /** What they are, for messages. */
  what: string;
  pom: string;
  /** Where they are kept. */
  libs: string;
  /** A jar whose presence means the set is complete (the folder is renamed in whole). */
  marker: string;
  /** -D properties for the pom (versions, profiles). */
  properties: Record<string, string>;
}

export function ensureJars(set: JarSet): void {
  if (existsSync(join(set.libs, set.marker))) return;
  if (!onPath('java'))
    throw new StackError(
      'java is not installed: install a JDK 17+ (apt-get install openjdk-17-jre-headless).',
    );
  if (!onPath('mvn'))
    throw new StackError(
      `mvn is not installed: install Maven (apt-get install maven) to fetch the ${set.what} jars.`,
    );
  console.log(`stack: fetching the ${set.what} jars from Maven Central (first start only)...`);
  // Copied aside and renamed in whole: a process starting at the same time
  // from another state folder never sees half a classpath.
  const work = `${set.libs}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        set.pom,
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        ...Object.entries(set.properties).map(([k, v]) => `-D${k}=${v}`),
        `-DoutputDirectory=${work}`,
      ],
      { stdio: 'inherit' },
    );
    if (!existsSync(join(work, set.marker)))
      throw new StackError(`Maven fetched no ${set.marker} for the ${set.what}: is the version right?`);
    try {
      renameSync(work, set.libs);
    } catch (error) {
      if (!existsSync(join(set.libs, set.marker))) throw error; // else: a racing start won
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
