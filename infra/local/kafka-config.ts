// server.properties and the logging config for a single-node KRaft broker
// (combined broker + controller) bound to loopback, under <state>/kafka/.
// The same properties work on Kafka 3.9 and 4.x; only the logging backend
// differs (reload4j on 3.x, log4j2 on 4.x).

export interface KafkaLayout {
  dir: string;
  port: number;
  controllerPort: number;
  /** The optional SASL_SSL listener. */
  saslSsl?: SaslSslListener | undefined;
}

export interface SaslSslListener {
  port: number;
  /** PKCS12 with the server key and certificate. */
  keystore: string;
  keystorePassword: string;
  /** PEM CA that client certificates must chain to (they are optional: ssl.client.auth=requested). */
  truststore: string;
  /** PLAIN users (SCRAM users live in the metadata log, created at format time). */
  plainUsers: Record<string, string>;
}

/** Every SASL mechanism a client of this project may configure (SPEC 7). */
export const SASL_MECHANISMS = ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN', 'OAUTHBEARER'];

function jaasQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function saslSslProperties(l: SaslSslListener): string {
  const prefix = 'listener.name.sasl_ssl';
  const plainUsers = Object.entries(l.plainUsers)
    .map(([user, password]) => ` user_${user}=${jaasQuote(password)}`)
    .join('');
  return `
# SASL_SSL: TLS with the stack's own CA, then one of ${SASL_MECHANISMS.join(', ')}.
sasl.enabled.mechanisms=${SASL_MECHANISMS.join(',')}
${prefix}.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
${prefix}.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
${prefix}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required${plainUsers};
# OAUTHBEARER with Kafka's unsecured validator (alg "none" JWTs with sub and exp):
# enough to test that clients fetch, present and refresh tokens, on loopback
# only. A real cluster validates signatures (sasl.oauthbearer.jwks.endpoint.url).
${prefix}.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";
# Re-authentication on: a session ends when its token expires (KIP-368), so a
# client that does not refresh its token is cut off, as on a real cluster.
${prefix}.oauthbearer.connections.max.reauth.ms=3600000
${prefix}.ssl.keystore.type=PKCS12
${prefix}.ssl.keystore.location=${l.keystore}
${prefix}.ssl.keystore.password=${l.keystorePassword}
${prefix}.ssl.key.password=${l.keystorePassword}
${prefix}.ssl.truststore.type=PEM
${prefix}.ssl.truststore.location=${l.truststore}
${prefix}.ssl.client.auth=requested
`;
}

export function serverProperties({ dir, port, controllerPort, saslSsl }: KafkaLayout): string {
  const sasl = saslSsl ? `,SASL_SSL://127.0.0.1:${saslSsl.port}` : '';
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${sasl}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}${sasl}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
log.dirs=${dir}/data
num.partitions=4
# One broker: without these the group and transaction coordinators never come up.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=8
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=2160
log.cleaner.enable=true
log.cleaner.backoff.ms=5000
${saslSsl ? saslSslProperties(saslSsl) : ''}`;
}

/** Kafka 3.x: reload4j (-Dlog4j.configuration). */
export function log4jProperties(dir: string): string {
  return `log4j.rootLogger=WARN, stdout, file
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${dir}/log/broker.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
`;
}

/** Kafka 4.x: log4j2 (-Dlog4j2.configurationFile), same appenders and level. */
export function log4j2Properties(dir: string): string {
  return `status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${dir}/log/broker.log
appender.file.filePattern = ${dir}/log/broker.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
rootLogger.appenderRef.file.ref = FILE
`;
}
