import WebSocket from 'ws';

export const MESSAGE_STREAM_QUERY =
  'subscription S($messageId: ID!, $after: Int) { messageStream(messageId: $messageId, after: $after) { messageId seq delta done message { status content } } }';

export interface StreamFrame {
  at: number;
  seq: number;
  delta: string;
  done: boolean;
  content?: string;
  status?: string;
  /** What a query that selects them got (the tools case); undefined otherwise. */
  reasoningDelta?: string;
  toolCall?: StreamToolCall | null;
  parts?: Array<{ type: string; text: string | null; toolCall: StreamToolCall | null }>;
}

/** A tool call as a messageStream event or a message part shows it. */
export interface StreamToolCall {
  id: string;
  name: string;
  arguments?: Record<string, unknown>;
  status: string;
  result: string | null;
  error: string | null;
}

/** One reply followed to its end by subscribeOnceToDone. */
export interface ReplyCollector {
  deltas: string;
  status?: string;
  /** When the done event arrived (nowMs). */
  at: number;
  /** Every event in arrival order (seq, delta, and the done event's message). */
  frames: StreamFrame[];
  resolve: (collector: ReplyCollector) => void;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const nowMs = () => performance.timeOrigin + performance.now();

/**
 * A minimal graphql-transport-ws client on raw `ws`: the load generator must stay cheaper
 * than the server it measures. One socket, one subscription.
 */
export class StreamClient {
  readonly frames: StreamFrame[] = [];
  errors: unknown[] = [];
  private socket!: WebSocket;
  private closing = false;
  private nextId = 100;
  private readonly waiters = new Map<
    string,
    { firstAt?: number; resolve: (firstAt: number) => void }
  >();
  done!: Promise<void>;
  private finish!: () => void;
  private readonly collectors = new Map<string, ReplyCollector>();

  static async connect(url: string, token: string): Promise<StreamClient> {
    const client = new StreamClient();
    client.done = new Promise((resolve) => (client.finish = resolve));
    await new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
      client.socket = socket;
      socket.once('open', () =>
        socket.send(
          JSON.stringify({
            type: 'connection_init',
            payload: { authorization: `Bearer ${token}` },
          }),
        ),
      );
      socket.on('message', (raw) => {
        const message = JSON.parse(String(raw));
        if (message.type === 'connection_ack') return resolve();
        if (message.type === 'ping') return socket.send('{"type":"pong"}');
        const collector = client.collectors.get(message.id);
        if (collector) {
          const event = message.payload?.data?.messageStream;
          if (message.type === 'next' && message.payload.errors) {
            client.errors.push(message.payload.errors);
          }
          if (message.type === 'next' && event) {
            collector.frames.push({
              at: nowMs(),
              seq: event.seq,
              delta: event.delta,
              done: event.done,
              content: event.message?.content,
              status: event.message?.status,
            });
          }
          if (message.type === 'next' && event && !event.done) collector.deltas += event.delta;
          if (message.type === 'next' && event?.done) {
            collector.status = event.message?.status;
            collector.at = nowMs();
          }
          if (message.type === 'error') client.errors.push(message.payload);
          if (message.type === 'complete' || message.type === 'error') {
            client.collectors.delete(message.id);
            collector.resolve(collector);
          }
          return;
        }
        const waiter = client.waiters.get(message.id);
        if (
          waiter &&
          (message.type === 'next' || message.type === 'error' || message.type === 'complete')
        ) {
          if (message.type === 'next') waiter.firstAt ??= nowMs();
          if (message.type === 'error') client.errors.push(message.payload);
          if (message.type !== 'next') {
            client.waiters.delete(message.id);
            waiter.resolve(waiter.firstAt ?? NaN);
          }
          return;
        }
        if (message.type === 'next') {
          const event = message.payload.data?.messageStream;
          if (message.payload.errors) client.errors.push(message.payload.errors);
          if (event)
            client.frames.push({
              at: nowMs(),
              seq: event.seq,
              delta: event.delta,
              done: event.done,
              content: event.message?.content,
              status: event.message?.status,
              reasoningDelta: event.reasoningDelta,
              toolCall: event.toolCall,
              parts: event.message?.parts,
            });
        } else if (message.type === 'error') {
          client.errors.push(message.payload);
          client.finish();
        } else if (message.type === 'complete') {
          client.finish();
        }
      });
      socket.once('close', (code) => {
        // A close this client started (after its last frame) is not a server fault.
        if (!client.closing && code !== 1000 && code !== 1001) client.errors.push({ close: code });
        client.finish();
        reject(new Error(`closed ${code}`));
      });
      socket.once('error', reject);
    });
    return client;
  }

  /**
   * Follows one reply into `frames`. `query` may select more of each event (the tools case
   * reads toolCall and the done message's parts); a frame keeps what it selects.
   */
  subscribe(
    messageId: string,
    extra: Record<string, unknown> = {},
    query = MESSAGE_STREAM_QUERY,
  ): void {
    this.sendSubscribe('1', { messageId, ...extra }, query);
  }

  /** Subscribes on this socket and resolves when that subscription completes, with its first event's arrival. */
  subscribeOnce(messageId: string): Promise<number> {
    const id = String((this.nextId += 1));
    const done = new Promise<number>((resolve) => this.waiters.set(id, { resolve }));
    this.sendSubscribe(id, { messageId });
    return done;
  }

  /**
   * Subscribes on this socket (from seq `after` when given) and resolves when the reply is
   * done: its text, status and when. `collecting` sees the collector as its events arrive.
   */
  subscribeOnceToDone(
    messageId: string,
    after?: number,
    collecting?: (collector: ReplyCollector) => void,
  ): Promise<ReplyCollector> {
    const id = String((this.nextId += 1));
    const done = new Promise<ReplyCollector>((resolve) => {
      const collector: ReplyCollector = { deltas: '', at: NaN, frames: [], resolve };
      this.collectors.set(id, collector);
      collecting?.(collector);
    });
    this.sendSubscribe(id, after === undefined ? { messageId } : { messageId, after });
    return done;
  }

  /** Drops the connection as a network would (no close frame): the server sees it vanish. */
  drop(): void {
    this.closing = true;
    this.socket.terminate();
  }

  private sendSubscribe(
    id: string,
    variables: Record<string, unknown>,
    query = MESSAGE_STREAM_QUERY,
  ): void {
    this.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
  }

  close(): void {
    this.closing = true;
    this.socket.close(1000);
  }
}

/** Opens `count` sockets `parallel` at a time. */
export async function connectMany(
  url: string,
  tokens: string[],
  parallel = 50,
): Promise<StreamClient[]> {
  const clients: StreamClient[] = [];
  for (let i = 0; i < tokens.length; i += parallel) {
    clients.push(
      ...(await Promise.all(
        tokens.slice(i, i + parallel).map((token) => StreamClient.connect(url, token)),
      )),
    );
  }
  return clients;
}
