// Passwords of one local stack: random, made on its first start, kept (mode
// 0600) in its state folder so every later start and every client agrees.
// They protect nothing more than a loopback dev stack, but being random they
// let the tests prove that no secret reaches a log line.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The SCRAM (and PLAIN) user of the SASL_SSL listener. */
export const KAFKA_SASL_USER = 'optout';
/** The ClickHouse user with a password (full rights), for HTTPS connections. */
export const WRITER_USER = 'optout_writer';

export interface StackSecrets {
  kafkaSaslPassword: string;
  clickhouseWriterPassword: string;
  /** Of the broker's PKCS12 keystore. */
  keystorePassword: string;
}

const secret = () => randomBytes(12).toString('hex');

export function stackSecrets(localDir: string): StackSecrets {
  const file = join(localDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as StackSecrets;
  const secrets: StackSecrets = {
    kafkaSaslPassword: secret(),
    clickhouseWriterPassword: secret(),
    keystorePassword: secret(),
  };
  mkdirSync(localDir, { recursive: true });
  try {
    // 'wx': if two starts race, the first file wins and both read it.
    writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return JSON.parse(readFileSync(file, 'utf8')) as StackSecrets;
  }
  chmodSync(file, 0o600);
  return secrets;
}
