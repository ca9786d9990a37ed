// Config files for a private, loopback-only ClickHouse server under .local/.
// Works with the 18.16 server from Debian and with current servers (<yandex>
// is still accepted as the root element).

import { createHash } from 'node:crypto';

export interface ClickHouseLayout {
  dir: string;
  httpPort: number;
  tcpPort: number;
  /** The optional HTTPS port, with the stack's server certificate. */
  https?: { port: number; certFile: string; keyFile: string } | undefined;
}

/** Password of the read-only user the query service uses in the local stack. */
export const READER_USER = 'optout_reader';
export const READER_PASSWORD = 'optout_reader';

/** HTTPS beside HTTP. verificationMode none: clients are not asked for certificates. */
function httpsXml(https: NonNullable<ClickHouseLayout['https']>): string {
  return `
  <https_port>${https.port}</https_port>
  <openSSL>
    <server>
      <certificateFile>${https.certFile}</certificateFile>
      <privateKeyFile>${https.keyFile}</privateKeyFile>
      <verificationMode>none</verificationMode>
      <loadDefaultCAFile>false</loadDefaultCAFile>
      <cacheSessions>true</cacheSessions>
      <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
      <preferServerCiphers>true</preferServerCiphers>
    </server>
  </openSSL>`;
}

export function serverConfigXml({ dir, httpPort, tcpPort, https }: ClickHouseLayout): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${dir}/log/server.log</log>
    <errorlog>${dir}/log/server.err.log</errorlog>
    <size>20M</size>
    <count>2</count>
  </logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>${https ? httpsXml(https) : ''}
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/data/tmp/</tmp_path>
  <user_files_path>${dir}/data/user_files/</user_files_path>
  <format_schema_path>${dir}/data/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
  <timezone>UTC</timezone>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mlock_executable>false</mlock_executable>
</yandex>
`;
}

/**
 * Users: `default` (no password, loopback only) for ingest, migrations and tests;
 * `optout_reader` for the query service. Its profile is readonly=2: no writes or
 * DDL, but per-query settings such as max_execution_time stay allowed (readonly=1
 * would refuse them, and the API needs them for its 504 time limit). With a
 * writer password, `writerUser` too: full rights behind a random password (the
 * HTTPS tests), stored as its SHA-256 only. The cluster's servers use the same
 * users: what the query service needs on a cluster (distributed_product_mode)
 * it sends per query (services/query/src/warehouse.ts).
 */
export function usersXml(writer?: { user: string; password: string }): string {
  return `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
    </default>
    <reader>
      <readonly>2</readonly>
      <max_memory_usage>2000000000</max_memory_usage>
    </reader>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <${READER_USER}>
      <password>${READER_PASSWORD}</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>reader</profile>
      <quota>default</quota>
    </${READER_USER}>${writer ? writerXml(writer.user, writer.password) : ''}
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries><errors>0</errors><result_rows>0</result_rows>
        <read_rows>0</read_rows><execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`;
}

function writerXml(user: string, password: string): string {
  const sha256 = createHash('sha256').update(password, 'utf8').digest('hex');
  return `
    <${user}>
      <password_sha256_hex>${sha256}</password_sha256_hex>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </${user}>`;
}
