/**
 * The control channel of a running mvnet daemon: a unix stream socket at
 * `/run/vdevctl/mvnet/NAME.sock` (under the {@linkcode SysRoot}; its
 * directory 0700, the socket 0600, so only its owner, root, talks to it).
 *
 * Protocol: one request per connection, one line of JSON of at most
 * {@linkcode MAX_REQUEST} bytes ending in "\n"; the daemon answers one line
 * of JSON (at most {@linkcode MAX_RESPONSE} bytes) and closes:
 * `{"ok":true,...}` or `{"ok":false,"error":"..."}`. Requests:
 * `{"op":"stats"}` and `{"op":"set","link":"up"|"down"}`. A longer line, bad
 * JSON or an unknown request gets an error answer; a client that sends
 * nothing is dropped after {@linkcode IO_TIMEOUT_MS}.
 *
 * A socket left by a daemon that died (nobody accepts on it) is removed by
 * the next daemon of that name; one that answers is in use.
 *
 * @module
 */

import { errnoCode, messageOf, VdevError } from "../errors.ts";
import type { SysRoot } from "../root.ts";

/** Directory of the control sockets (a system path). */
export const CONTROL_DIR = "/run/vdevctl/mvnet";

/** Largest request line, newline included. */
export const MAX_REQUEST = 1024;

/** Largest answer line, newline included. */
export const MAX_RESPONSE = 65536;

/** How long either side waits for the other's line. */
export const IO_TIMEOUT_MS = 5000;

/** A request to the daemon. */
export type ControlRequest =
  | { op: "stats" }
  | { op: "set"; link: "up" | "down" };

/** An answer: `ok` and the fields of the request's result, or an error. */
export type ControlResponse =
  | ({ ok: true } & Record<string, unknown>)
  | { ok: false; error: string };

/** Answers one request (throwing a VdevError answers `ok: false`). */
export type ControlHandler = (
  request: ControlRequest,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** The socket path of daemon `name` under `root`. */
export function socketPath(name: string, options: { root: SysRoot }): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(name)) {
    throw new VdevError(
      `bad mvnet name "${name}": use letters, digits, ".", "_" and "-"`,
    );
  }
  return options.root.path(`${CONTROL_DIR}/${name}.sock`);
}

/** Parses a request line (without its newline); throws a VdevError. */
export function decodeRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new VdevError("bad request: not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new VdevError("bad request: not a JSON object");
  }
  const r = v as Record<string, unknown>;
  const keys = Object.keys(r).sort().join(",");
  if (r.op === "stats" && keys === "op") return { op: "stats" };
  if (r.op === "set" && keys === "link,op") {
    if (r.link === "up" || r.link === "down") {
      return { op: "set", link: r.link };
    }
    throw new VdevError(`bad request: link must be "up" or "down"`);
  }
  throw new VdevError(
    `bad request: expected {"op":"stats"} or {"op":"set","link":"up|down"}`,
  );
}

/** Encodes a request line (newline included). */
export function encodeRequest(request: ControlRequest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(request) + "\n");
}

/**
 * Reads one "\n"-terminated line of at most `max` bytes (newline included)
 * from `conn`; null at end of stream without a newline. Throws a VdevError
 * for a longer line and on timeout.
 */
export async function readLine(
  conn: Deno.Conn,
  options: { max: number; timeoutMs?: number },
): Promise<string | null> {
  const buf = new Uint8Array(options.max);
  let used = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(
      () => resolve("timeout"),
      options.timeoutMs ?? IO_TIMEOUT_MS,
    );
  });
  try {
    for (;;) {
      const nl = buf.subarray(0, used).indexOf(0x0a);
      if (nl >= 0) return new TextDecoder().decode(buf.subarray(0, nl));
      if (used === buf.length) {
        throw new VdevError(`line longer than ${options.max} bytes`);
      }
      const n = await Promise.race([conn.read(buf.subarray(used)), timeout]);
      if (n === "timeout") throw new VdevError("timed out waiting for a line");
      if (n === null) return null;
      used += n;
    }
  } finally {
    clearTimeout(timer);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** True if something accepts connections at socket `path`. */
async function answers(path: string): Promise<boolean> {
  try {
    const c = await Deno.connect({ transport: "unix", path });
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** A listening control socket; {@linkcode close} removes it. */
export class ControlSocket {
  /** The socket path. */
  readonly path: string;
  readonly #listener: Deno.Listener;
  readonly #handler: ControlHandler;
  readonly #loop: Promise<void>;
  readonly #conns = new Set<Deno.Conn>();
  #closed = false;

  /** Internal: use {@linkcode listenControl}. */
  constructor(path: string, listener: Deno.Listener, handler: ControlHandler) {
    this.path = path;
    this.#listener = listener;
    this.#handler = handler;
    this.#loop = this.#accept();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      this.#conns.add(conn);
      this.#serve(conn).finally(() => {
        this.#conns.delete(conn);
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      });
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    let response: ControlResponse;
    try {
      const line = await readLine(conn, { max: MAX_REQUEST });
      if (line === null) return;
      response = { ok: true, ...(await this.#handler(decodeRequest(line))) };
    } catch (err) {
      response = { ok: false, error: messageOf(err) };
    }
    let text = JSON.stringify(response) + "\n";
    if (text.length > MAX_RESPONSE) {
      text = JSON.stringify({ ok: false, error: "answer too long" }) + "\n";
    }
    try {
      await writeAll(conn, new TextEncoder().encode(text));
    } catch {
      // The client went away.
    }
  }

  /** Stops listening, drops open connections and removes the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // Already closed.
      }
    }
    await this.#loop;
    try {
      Deno.removeSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Listens on the control socket of `name` (directory made 0700, socket
 * 0600); removes a stale socket a dead daemon left, and refuses one that
 * another daemon still answers on.
 */
export async function listenControl(
  name: string,
  options: { root: SysRoot; handler: ControlHandler },
): Promise<ControlSocket> {
  const path = socketPath(name, options);
  const dir = path.slice(0, path.lastIndexOf("/"));
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  Deno.chmodSync(dir, 0o700);
  let st: Deno.FileInfo | undefined;
  try {
    st = Deno.lstatSync(path);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
  }
  if (st !== undefined) {
    if (!st.isSocket) {
      throw new VdevError(
        `${path} exists and is not a socket: remove it to run mvnet ${name}`,
      );
    }
    if (await answers(path)) {
      throw new VdevError(
        `another mvnet daemon answers on ${path}: stop it first or use another name`,
      );
    }
    Deno.removeSync(path); // stale: its daemon died
  }
  const listener = Deno.listen({ transport: "unix", path });
  Deno.chmodSync(path, 0o600);
  return new ControlSocket(path, listener, options.handler);
}

/**
 * Sends `request` to the daemon of `name` and returns its answer's fields;
 * VdevError when no daemon serves it, it died (stale socket), it does not
 * answer in time, or it answers with an error.
 */
export async function controlRequest(
  name: string,
  request: ControlRequest,
  options: { root: SysRoot },
): Promise<Record<string, unknown>> {
  const path = socketPath(name, options);
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || err instanceof Deno.errors.NotFound) {
      throw new VdevError(
        `no mvnet daemon serves ${name} (no ${path}): start one with vdevctl mvnet run ${name}`,
      );
    }
    if (
      code === "ECONNREFUSED" || err instanceof Deno.errors.ConnectionRefused
    ) {
      throw new VdevError(
        `the mvnet daemon of ${name} is gone (stale ${path}): start it again with vdevctl mvnet run ${name}`,
      );
    }
    throw new VdevError(
      `cannot reach mvnet ${name} at ${path}: ${messageOf(err)}`,
    );
  }
  try {
    await writeAll(conn, encodeRequest(request));
    let line: string | null;
    try {
      line = await readLine(conn, { max: MAX_RESPONSE });
    } catch (err) {
      throw new VdevError(`mvnet ${name} did not answer: ${messageOf(err)}`);
    }
    if (line === null) {
      throw new VdevError(`mvnet ${name} closed without an answer`);
    }
    let r: ControlResponse;
    try {
      r = JSON.parse(line);
    } catch {
      throw new VdevError(`mvnet ${name} answered something that is not JSON`);
    }
    if (!r.ok) throw new VdevError(`mvnet ${name}: ${r.error}`);
    const { ok: _ok, ...fields } = r;
    return fields;
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}
