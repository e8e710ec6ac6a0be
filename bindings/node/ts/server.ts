/**
 * The HTTP API served from inside this process.
 */
import type { NativeServer } from "./binding";

/**
 * A running server. Like a `net.Server` it keeps the process alive until
 * `close()` (or `unref()`).
 */
export class Server {
  /** `http://HOST:PORT`, the bound address (the picked port for port 0). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  #native: NativeServer;
  #keepAlive: NodeJS.Timeout | null;
  #closing: Promise<void> | null = null;

  /** @internal */
  constructor(native: NativeServer) {
    this.#native = native;
    this.host = native.host;
    this.port = native.port;
    this.url = `http://${this.host}:${this.port}`;
    // The server runs on the addon's threads, which Node's event loop does not
    // see; this timer stands in for it (and keeps this object reachable).
    this.#keepAlive = setInterval(() => this.#native, 2 ** 31 - 1);
  }

  /** Lets the process exit while the server runs. */
  unref(): this {
    this.#keepAlive?.unref();
    return this;
  }

  /** Keeps the process alive while the server runs (the default). */
  ref(): this {
    this.#keepAlive?.ref();
    return this;
  }

  /**
   * Stops accepting connections, lets requests and streams in flight finish
   * (up to `server.shutdown_grace_secs`, 30 by default), then resolves.
   */
  close(): Promise<void> {
    if (this.#keepAlive !== null) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = null;
    }
    this.#closing ??= this.#native.close();
    return this.#closing;
  }
}
