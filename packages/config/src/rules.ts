// Rules across variables: each value can be valid alone and the combination
// still unusable (a SASL mechanism without its credentials, a CA file for a
// plain-http URL, a CA file nobody can read). parseEnv runs the rules whose
// anchor variable is part of the shape it parses, so every service that reads
// the Kafka or ClickHouse variables gets them without asking.
import { readFileSync } from 'node:fs';

export interface ConfigProblem {
  variable: string;
  message: string;
}

export interface CrossFieldRule {
  /** The rule runs when the parsed shape has this variable. */
  anchor: string;
  check(config: Readonly<Record<string, unknown>>): ConfigProblem[];
}

type Config = Readonly<Record<string, unknown>>;

const text = (config: Config, name: string): string | undefined => {
  const value = config[name];
  return typeof value === 'string' ? value : undefined;
};

/** The file must be readable and hold what it is for; the message never quotes its content. */
export function pemFileProblem(path: string, holds: 'certificate' | 'private key'): string | undefined {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    return `cannot read ${path} (${code ?? message})`;
  }
  const marker =
    holds === 'certificate' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
  return marker.test(content) ? undefined : `${path} holds no PEM ${holds}`;
}

function fileProblems(config: Config, files: [string, 'certificate' | 'private key'][]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [variable, holds] of files) {
    const path = text(config, variable);
    const message = path === undefined ? undefined : pemFileProblem(path, holds);
    if (message) problems.push({ variable, message });
  }
  return problems;
}

/** Both of a pair, or neither (a certificate without its key is useless, and the reverse). */
function pairProblems(config: Config, a: string, b: string): ConfigProblem[] {
  const hasA = text(config, a) !== undefined;
  const hasB = text(config, b) !== undefined;
  if (hasA && !hasB) return [{ variable: b, message: `required with ${a} (not set)` }];
  if (hasB && !hasA) return [{ variable: a, message: `required with ${b} (not set)` }];
  return [];
}

function isLoopbackUrl(raw: string): boolean {
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(raw).hostname);
  } catch {
    return false;
  }
}

const SASL_VARIABLES = [
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
  'KAFKA_SASL_OAUTHBEARER_SCOPE',
];
const OAUTH_ONLY = ['KAFKA_SASL_OAUTHBEARER_TOKEN_URL', 'KAFKA_SASL_OAUTHBEARER_SCOPE'];

function kafkaSaslProblems(config: Config): ConfigProblem[] {
  const mechanism = text(config, 'KAFKA_SASL_MECHANISM');
  const isSet = (name: string) => text(config, name) !== undefined;
  if (mechanism === undefined) {
    // Credentials without a mechanism would silently connect unauthenticated.
    return SASL_VARIABLES.filter(isSet).map((variable) => ({
      variable,
      message: 'set, but KAFKA_SASL_MECHANISM is not (plain, scram-sha-256, scram-sha-512 or oauthbearer)',
    }));
  }
  const problems: ConfigProblem[] = [];
  const oauth = mechanism === 'oauthbearer';
  const needed: [string, string][] = oauth
    ? [
        ['KAFKA_SASL_OAUTHBEARER_TOKEN_URL', 'the token endpoint'],
        ['KAFKA_SASL_USERNAME', 'the OAuth client id'],
        ['KAFKA_SASL_PASSWORD', 'the OAuth client secret'],
      ]
    : [
        ['KAFKA_SASL_USERNAME', 'the user'],
        ['KAFKA_SASL_PASSWORD', 'the password'],
      ];
  for (const [variable, what] of needed) {
    if (!isSet(variable))
      problems.push({
        variable,
        message: `required with KAFKA_SASL_MECHANISM=${mechanism}: ${what} (not set)`,
      });
  }
  if (!oauth) {
    for (const variable of OAUTH_ONLY.filter(isSet))
      problems.push({
        variable,
        message: `only used with KAFKA_SASL_MECHANISM=oauthbearer, not ${mechanism}`,
      });
  }
  const tokenUrl = text(config, 'KAFKA_SASL_OAUTHBEARER_TOKEN_URL');
  if (oauth && tokenUrl && !tokenUrl.startsWith('https://') && !isLoopbackUrl(tokenUrl)) {
    problems.push({
      variable: 'KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
      message: 'must be https:// (the client secret is sent to it); plain http only on loopback',
    });
  }
  return problems;
}

function kafkaTlsProblems(config: Config): ConfigProblem[] {
  const files = ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_KEY_PASSWORD'];
  if (config.KAFKA_SSL !== true) {
    return files
      .filter((name) => text(config, name) !== undefined)
      .map((variable) => ({ variable, message: 'set, but KAFKA_SSL is not true' }));
  }
  const problems = pairProblems(config, 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE');
  if (
    text(config, 'KAFKA_SSL_KEY_PASSWORD') !== undefined &&
    text(config, 'KAFKA_SSL_KEY_FILE') === undefined
  )
    problems.push({
      variable: 'KAFKA_SSL_KEY_FILE',
      message: 'required with KAFKA_SSL_KEY_PASSWORD (not set)',
    });
  return [
    ...problems,
    ...fileProblems(config, [
      ['KAFKA_SSL_CA_FILE', 'certificate'],
      ['KAFKA_SSL_CERT_FILE', 'certificate'],
      ['KAFKA_SSL_KEY_FILE', 'private key'],
    ]),
  ];
}

export const kafkaSecurityRule: CrossFieldRule = {
  anchor: 'KAFKA_SASL_MECHANISM',
  check: (config) => [...kafkaSaslProblems(config), ...kafkaTlsProblems(config)],
};

export const clickhouseTlsRule: CrossFieldRule = {
  anchor: 'CLICKHOUSE_CA_FILE',
  check(config) {
    const files = ['CLICKHOUSE_CA_FILE', 'CLICKHOUSE_CERT_FILE', 'CLICKHOUSE_KEY_FILE'];
    const url = text(config, 'CLICKHOUSE_URL') ?? '';
    if (!url.startsWith('https://')) {
      return files
        .filter((name) => text(config, name) !== undefined)
        .map((variable) => ({ variable, message: 'set, but CLICKHOUSE_URL is not https://' }));
    }
    const problems = pairProblems(config, 'CLICKHOUSE_CERT_FILE', 'CLICKHOUSE_KEY_FILE');
    if (
      text(config, 'CLICKHOUSE_CERT_FILE') !== undefined &&
      text(config, 'CLICKHOUSE_CA_FILE') === undefined
    )
      problems.push({
        variable: 'CLICKHOUSE_CA_FILE',
        message: 'required with a client certificate (CLICKHOUSE_CERT_FILE) (not set)',
      });
    return [
      ...problems,
      ...fileProblems(config, [
        ['CLICKHOUSE_CA_FILE', 'certificate'],
        ['CLICKHOUSE_CERT_FILE', 'certificate'],
        ['CLICKHOUSE_KEY_FILE', 'private key'],
      ]),
    ];
  },
};

export const schemaRegistryAuthRule: CrossFieldRule = {
  anchor: 'SCHEMA_REGISTRY_USER',
  check(config) {
    const url = text(config, 'SCHEMA_REGISTRY_URL');
    const given = ['SCHEMA_REGISTRY_USER', 'SCHEMA_REGISTRY_PASSWORD'].filter(
      (name) => text(config, name) !== undefined,
    );
    if (given.length === 0) return [];
    if (url === undefined)
      return given.map((variable) => ({ variable, message: 'set, but SCHEMA_REGISTRY_URL is not' }));
    if (/^[a-z]+:\/\/[^/@]*@/i.test(url)) {
      return [
        {
          variable: 'SCHEMA_REGISTRY_USER',
          message: 'set, but SCHEMA_REGISTRY_URL has credentials too (user:password@): use one of them',
        },
      ];
    }
    return pairProblems(config, 'SCHEMA_REGISTRY_USER', 'SCHEMA_REGISTRY_PASSWORD');
  },
};

/** The replicas' URLs belong to a cluster, and take CLICKHOUSE_URL's credentials and TLS files as they are. */
export const clickhouseReplicasRule: CrossFieldRule = {
  anchor: 'CLICKHOUSE_REPLICA_URLS',
  check(config) {
    const urls = config.CLICKHOUSE_REPLICA_URLS;
    if (!Array.isArray(urls)) return [];
    if (text(config, 'CLICKHOUSE_CLUSTER') === undefined)
      return [{ variable: 'CLICKHOUSE_REPLICA_URLS', message: 'set, but CLICKHOUSE_CLUSTER is not' }];
    const scheme = (text(config, 'CLICKHOUSE_URL') ?? '').split(':')[0];
    const other = urls.filter((u: string) => u.split(':')[0] !== scheme);
    return other.length === 0
      ? []
      : [
          {
            variable: 'CLICKHOUSE_REPLICA_URLS',
            message: `must all use CLICKHOUSE_URL's scheme (${scheme}://, the same credentials and TLS files apply): ${other.join(', ')}`,
          },
        ];
  },
};

export const CROSS_FIELD_RULES: readonly CrossFieldRule[] = [
  kafkaSecurityRule,
  clickhouseTlsRule,
  schemaRegistryAuthRule,
  clickhouseReplicasRule,
];
