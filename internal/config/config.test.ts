import { describe, expect, it } from 'vitest';
import { userAgent } from '../wikimedia/user-agent.js';
import { DEFAULT_STREAM_URL, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment, frozen', () => {
    const config = loadConfig({});
    expect(config.source.url).toBe(DEFAULT_STREAM_URL);
    expect(config.storage).toBe('memory');
    expect(config.http.port).toBe(8080);
    expect(config.kafka).toMatchObject({
      brokers: ['localhost:9092'],
      topic: 'wikipedia.changes',
      partitions: 6,
    });
    expect(Object.isFrozen(config.kafka)).toBe(true);
  });

  it('treats empty values as unset, as docker compose passes them', () => {
    expect(loadConfig({ HTTP_PORT: '', STORAGE: '' }).http.port).toBe(8080);
  });

  it.each([
    ['HTTP_PORT', 'eighty', 'HTTP_PORT must be a whole number'],
    ['HTTP_PORT', '70000', 'HTTP_PORT must be at most 65535'],
    ['STORAGE', 'redis', 'STORAGE must be memory or cassandra'],
    ['REDPANDA_BROKER', 'kafka://redpanda:9092', 'REDPANDA_BROKER must be host:port'],
    ['REDPANDA_BROKER', 'a:1,b', 'REDPANDA_BROKER must be host:port'],
    [
      'WIKIPEDIA_STREAM_URL',
      'stream.wikimedia.org',
      'WIKIPEDIA_STREAM_URL must be an http:// or https:// URL',
    ],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of'],
    ['KAFKA_TOPIC', 'bad topic', 'KAFKA_TOPIC must be a Kafka topic name'],
    ['CASSANDRA_KEYSPACE', '1ks', 'CASSANDRA_KEYSPACE must be a CQL identifier'],
    ['USER_AGENT_CONTACT', 'ops \u{1F600} example.org', 'USER_AGENT_CONTACT must be printable ASCII'],
    ['USER_AGENT_CONTACT', 'ops@example.org\r\nX-Evil: 1', 'USER_AGENT_CONTACT must be printable ASCII'],
    ['USER_AGENT_CONTACT', 'bücher@example.org', 'USER_AGENT_CONTACT must be printable ASCII'],
    ['KAFKA_TOPIC', '.', 'KAFKA_TOPIC must be a Kafka topic name other than'],
    ['KAFKA_DLQ_TOPIC', '..', 'KAFKA_DLQ_TOPIC must be a Kafka topic name other than'],
    ['KAFKA_DLQ_TOPIC', 'wikipedia.changes', 'KAFKA_DLQ_TOPIC must differ from KAFKA_TOPIC'],
    [
      'CASSANDRA_CONTACT_POINTS',
      'cassandra:70000',
      'CASSANDRA_CONTACT_POINTS must be host[:port] (port 1-65535)',
    ],
    ['CASSANDRA_CONTACT_POINTS', 'a:9042,b:0', 'CASSANDRA_CONTACT_POINTS must be host[:port]'],
    ['REDPANDA_BROKER', 'redpanda:0', 'REDPANDA_BROKER must be host:port'],
  ])('rejects %s=%j naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('accepts every contact it validates as a request header value', () => {
    for (const contact of ['https://example.org/ops', 'ops@example.org', 'Jane Doe <jane@example.org>']) {
      const config = loadConfig({ USER_AGENT_CONTACT: contact });
      expect(() => new Headers({ 'User-Agent': userAgent(config.source.contact) })).not.toThrow();
    }
  });

  it('reports every bad variable at once and never echoes a password', () => {
    let message = '';
    try {
      loadConfig({ HTTP_PORT: 'x', CASSANDRA_PASSWORD: 'secret', CASSANDRA_USERNAME: '' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('HTTP_PORT');
    expect(message).not.toContain('secret');
  });
});
