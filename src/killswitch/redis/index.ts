import { Redis } from 'ioredis';
import { redactUrl } from '../../config/redact.js';
import { RepriseError } from '../../core/errors.js';
import { OFF_STATE, parseModeState, type ModeState } from '../mode.js';
import type { ModeStore, StoreListener } from '../store.js';
import { storeError, withTimeout } from '../timeout.js';

export interface RedisModeStoreOptions {
  /** The key holding the state; changes are published on `<key>:changes`. Default `reprise:killswitch`. */
  key?: string;
  /** How long one operation may wait for the server. Default 2000 ms. */
  timeoutMs?: number;
}

/**
 * A mode store in one Redis key, with changes pushed by pub/sub so every instance learns them
 * at once. Connections reconnect by themselves; while the server is away, operations fail fast
 * instead of queuing (a queued write landing minutes later would surprise the operator).
 */
export class RedisModeStore implements ModeStore {
  readonly description: string;
  private readonly key: string;
  private readonly channel: string;
  private readonly timeoutMs: number;
  private readonly client: Redis;
  private readonly subscribers = new Set<Redis>();
  private closed = false;
  private readyWait: Promise<void> | undefined;
  private lastError: Error | undefined;

  constructor(url: string, options: RedisModeStoreOptions = {}) {
    this.description = redactUrl(url);
    this.key = options.key ?? 'reprise:killswitch';
    this.channel = `${this.key}:changes`;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.client = new Redis(url, clientOptions(this.timeoutMs));
    this.client.on('error', (err: Error) => {
      this.lastError = err;
    });
    this.client.on('ready', () => {
      this.lastError = undefined;
    });
    this.client.connect().catch(() => undefined);
  }

  /** Throws REPRISE_KILLSWITCH_STORE when Redis does not answer in time. Idempotent. */
  async read(signal?: AbortSignal): Promise<ModeState> {
    const text = await this.run((c) => c.get(this.key), 'read', signal);
    if (text === null) return OFF_STATE;
    const state = parseModeState(text);
    if (!state) throw storeError(new Error(`key ${this.key} does not hold a killswitch state`), `${this.description}`);
    return state;
  }

  /** Sets the key and publishes the new state in one MULTI. Throws REPRISE_KILLSWITCH_STORE. Idempotent. */
  async write(state: ModeState, signal?: AbortSignal): Promise<void> {
    const payload = JSON.stringify(state);
    await this.run((c) => c.multi().set(this.key, payload).publish(this.channel, payload).exec(), 'write', signal);
  }

  /** Opens a subscriber connection of its own. Never throws. */
  subscribe(listener: StoreListener): () => void {
    const sub = this.client.duplicate(clientOptions(this.timeoutMs));
    this.subscribers.add(sub);
    let up = true;
    sub.on('error', (err: Error) => {
      if (up) {
        up = false;
        listener.status(false, err);
      }
    });
    sub.on('close', () => {
      if (up && !this.closed) {
        up = false;
        listener.status(false, new Error(`connection to ${this.description} closed`));
      }
    });
    // ioredis re-subscribes on reconnect; 'ready' fires after that.
    sub.on('ready', () => {
      if (!up) {
        up = true;
        listener.status(true);
      }
    });
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const state = parseModeState(message);
      if (state) listener.change(state);
    });
    sub.connect().then(
      () => sub.subscribe(this.channel),
      () => undefined,
    ).catch(() => undefined);
    return () => {
      this.subscribers.delete(sub);
      sub.disconnect();
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const sub of this.subscribers) sub.disconnect();
    this.subscribers.clear();
    this.client.disconnect();
  }

  private async run<T>(op: (client: Redis) => Promise<T>, what: string, signal?: AbortSignal): Promise<T> {
    const label = `killswitch store ${this.description}: ${what}`;
    try {
      return await withTimeout(this.ready().then(() => op(this.client)), this.timeoutMs, label, signal);
    } catch (err) {
      // "No answer" alone hides the real cause (connection refused, auth failure…) when there is one.
      const error = storeError(err, label);
      if (!this.lastError || error.code !== 'REPRISE_KILLSWITCH_STORE') throw error;
      throw new RepriseError('REPRISE_KILLSWITCH_STORE', `${error.message} (${this.lastError.message})`, { cause: err });
    }
  }

  private ready(): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    // One shared wait, so callers polling a dead server do not pile up listeners.
    this.readyWait ??= new Promise((resolve) => {
      this.client.once('ready', () => {
        this.readyWait = undefined;
        resolve();
      });
    });
    return this.readyWait;
  }
}

function clientOptions(timeoutMs: number) {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    // Keep trying for ever, at most every 1 s, so an instance finds the store again by itself.
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
  };
}
