import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { WikistreamError } from '../errors.js';

export interface RunningServer {
  readonly port: number;
  close(): Promise<void>;
}

/** The settings a server was started from, to name them when listening fails. */
export interface ListenVariables {
  readonly host: string;
  readonly port: string;
}

/**
 * Starts `app` on host:port (0 = ephemeral) and resolves once it listens. An address that cannot
 * be listened on is a configuration error naming the variable (exit 2), not a stack trace.
 */
export function startHttpServer(
  app: Hono,
  host: string,
  port: number,
  variables: ListenVariables = { host: 'HTTP_HOST', port: 'HTTP_PORT' },
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            // Keep-alive browser connections would hold close() open; a stopping service ends them.
            if ('closeAllConnections' in server) server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
    server.once('error', (err) => reject(listenError(err, host, port, variables)));
  });
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number, names: ListenVariables): Error {
  const problem = ((): string | undefined => {
    switch (err.code) {
      case 'EADDRINUSE':
        return `${names.port} ${port} is already in use on ${host}: choose a free port (1-65535), or 0 for any free one`;
      case 'EACCES':
        return `${names.port} ${port} needs privileges this process lacks: use a port from 1024 to 65535`;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
      case 'EAI_NONAME':
      case 'EAI_FAIL':
        return `${names.host} ${JSON.stringify(host)} does not resolve: must be an IP address or host name of this machine (0.0.0.0 for every interface)`;
      case 'EADDRNOTAVAIL':
        return `${names.host} ${JSON.stringify(host)} is not an address of this machine: must be one of its IP addresses or host names (0.0.0.0 for every interface)`;
      default:
        return undefined;
    }
  })();
  if (problem === undefined) return err;
  return new WikistreamError('CONFIG_INVALID', `invalid configuration: ${problem} (${err.code})`, {
    cause: err,
  });
}
