import { describe, expect, it } from 'vitest';
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
  ])('rejects %s=%j naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
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
