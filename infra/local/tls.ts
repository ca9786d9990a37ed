// TLS material for the optional secure listeners, made with openssl on the
// first start that needs it and kept in <state>/tls/: a CA of this stack only,
// one server certificate for 127.0.0.1 (Kafka's SASL_SSL listener and
// ClickHouse's HTTPS port), a client certificate for mutual TLS, and the
// server pair as a PKCS12 keystore for the broker. EC P-256 keys: instant to
// make, and every TLS stack involved (Java 17, Node, ClickHouse's OpenSSL) takes them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onPath } from './processes.ts';
import { StackError } from './settings.ts';

export interface StackTls {
  dir: string;
  /** What clients trust (KAFKA_SSL_CA_FILE, CLICKHOUSE_CA_FILE). */
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** The server pair for the broker (PKCS12, keystore password from ./secrets.ts). */
  serverKeystore: string;
  clientCertFile: string;
  clientKeyFile: string;
}

export function stackTlsFiles(localDir: string): StackTls {
  const dir = join(localDir, 'tls');
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    serverKeystore: join(dir, 'server.p12'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
  };
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DAYS = '825';

function openssl(cwd: string, args: string[], env: Record<string, string> = {}) {
  execFileSync('openssl', args, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
}

/** A key and a certificate signed by the CA in `cwd`, with the given extensions. */
function issue(cwd: string, name: string, subject: string, extensions: string) {
  writeFileSync(join(cwd, `${name}.ext`), extensions);
  openssl(cwd, ['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(cwd, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    DAYS,
    '-out',
    `${name}.pem`,
    '-extfile',
    `${name}.ext`,
  ]);
}

export function ensureStackTls(localDir: string, keystorePassword: string): StackTls {
  const files = stackTlsFiles(localDir);
  const all = [
    files.caFile,
    files.serverCertFile,
    files.serverKeyFile,
    files.serverKeystore,
    files.clientCertFile,
    files.clientKeyFile,
  ];
  if (all.every((f) => existsSync(f))) return files;
  if (!onPath('openssl'))
    throw new StackError(
      'openssl is not installed: install it (apt-get install openssl) for the TLS listeners.',
    );
  // Made aside and moved in whole: a start that races this one never sees half a set.
  const work = `${files.dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
  try {
    openssl(work, [
      'req',
      '-x509',
      '-new',
      ...EC,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      DAYS,
      '-subj',
      '/CN=optout local stack CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    issue(
      work,
      'server',
      '/CN=127.0.0.1',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
    );
    issue(work, 'client', '/CN=optout', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
    openssl(
      work,
      [
        'pkcs12',
        '-export',
        '-in',
        'server.pem',
        '-inkey',
        'server.key',
        '-certfile',
        'ca.pem',
        '-name',
        'server',
        '-out',
        'server.p12',
        // From the environment, not the command line (which `ps` shows).
        '-passout',
        'env:OPTOUT_KEYSTORE_PASSWORD',
      ],
      { OPTOUT_KEYSTORE_PASSWORD: keystorePassword },
    );
    rmSync(files.dir, { recursive: true, force: true });
    renameSync(work, files.dir);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    if (all.every((f) => existsSync(f))) return files; // the racing start finished first
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new StackError(`could not make the stack's certificates with openssl: ${stderr || error}`);
  }
  return files;
}
