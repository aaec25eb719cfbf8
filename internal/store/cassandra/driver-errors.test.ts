import { errors, types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { WikistreamError } from '../../errors.js';
import { isTransient, toStoreError } from './driver-errors.js';

const codes = types.responseErrorCodes;

describe('driver errors', () => {
  it('an outage is retriable: no host, timeouts, unavailable, overloaded, a lost CAS answer', () => {
    for (const err of [
      new errors.NoHostAvailableError({ '10.0.0.1:9042': new Error('connect ECONNREFUSED') }),
      new errors.OperationTimedOutError('client timeout'),
      new errors.ResponseError(codes.writeTimeout, 'CAS write timeout'),
      new errors.ResponseError(codes.unavailableException, 'Cannot achieve consistency level'),
      new errors.ResponseError(codes.overloaded, 'overloaded'),
      new errors.ResponseError(codes.isBootstrapping, 'bootstrapping'),
    ]) {
      expect(isTransient(err)).toBe(true);
      expect(toStoreError(err, 'writing')).toMatchObject({
        code: 'STORE_UNAVAILABLE',
        retriable: true,
        cause: err,
      });
    }
  });

  it('what retrying cannot fix is not retriable: bad statements, missing tables, bad credentials', () => {
    for (const err of [
      new errors.ResponseError(codes.invalid, 'unconfigured table partition_state'),
      new errors.ResponseError(codes.syntaxError, 'line 1:0 no viable alternative'),
      new errors.ResponseError(codes.unauthorized, 'no SELECT permission'),
      new errors.NoHostAvailableError({
        h: new errors.AuthenticationError('Provided username and/or password are incorrect'),
      }),
    ]) {
      expect(toStoreError(err, 'writing')).toMatchObject({ retriable: false });
    }
  });

  it('keeps the message to one line, naming each host tried', () => {
    const err = new errors.NoHostAvailableError({
      '10.0.0.1:9042': new Error('connect ECONNREFUSED\n  at stack'),
    });
    expect(toStoreError(err, 'starting').message).toBe(
      'starting failed (Cassandra unreachable or overloaded; will retry): no Cassandra host available (10.0.0.1:9042: connect ECONNREFUSED)',
    );
    const own = new WikistreamError('STORE_CONFLICT', 'moved', { retriable: true });
    expect(toStoreError(own, 'x')).toBe(own);
  });
});
