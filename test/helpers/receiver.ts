/** A local webhook receiver for alert tests: records every POST and answers with `status`. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AlertMessage } from '../../infra/notifier';

export interface Received {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: AlertMessage;
}

/** A webhook receiver that records what it gets and answers `status`. */
export class Receiver {
  readonly requests: Received[] = [];
  status = 200;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', headers: req.headers, body: JSON.parse(body) as AlertMessage });
        res.writeHead(this.status, { 'content-type': 'text/plain' }).end(this.status === 200 ? 'ok' : 'receiver down');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    return `http://127.0.0.1:${address.port}/alerts/secret-token`;
  }

  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

