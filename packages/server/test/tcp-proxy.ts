/**
 * A TCP proxy in front of PostgreSQL for fault tests. Modes:
 * - `forward`: bytes pass both ways;
 * - `partition`: connections stay open (new ones are accepted) but no byte passes either way, and
 *   neither side hears of it — a network partition;
 * - `refuse`: the port is closed and open connections are reset — the database refusing connections.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'forward' | 'partition' | 'refuse';

export interface TcpProxy {
  /** `url` with host and port replaced by the proxy's. */
  url: string;
  port: number;
  mode: ProxyMode;
  setMode(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string, port = 0): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let mode: ProxyMode = 'forward';
  let server: Server | null = null;

  const onConnection = (client: Socket) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    // Bytes that arrive while partitioned are dropped, as a real partition loses them.
    client.on('data', (chunk) => mode === 'forward' && upstream.write(chunk));
    upstream.on('data', (chunk) => mode === 'forward' && client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  const listen = async (at: number) => {
    const s = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(at, '127.0.0.1', () => resolve());
    });
    server = s;
    return (s.address() as { port: number }).port;
  };
  const unlisten = async () => {
    const s = server;
    server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const resetAll = () => {
    for (const socket of sockets) socket.resetAndDestroy();
  };

  const boundPort = await listen(port);
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(boundPort);
  const proxy: TcpProxy = {
    url: url.toString(),
    port: boundPort,
    mode,
    async setMode(next) {
      if (next === mode) return;
      const was = mode;
      mode = next;
      proxy.mode = next;
      if (next === 'refuse') {
        const closing = unlisten();
        resetAll();
        await closing;
      } else if (was === 'refuse') {
        await listen(boundPort);
      }
    },
    async close() {
      mode = 'refuse';
      const closing = unlisten();
      resetAll();
      await closing;
    },
  };
  return proxy;
}
