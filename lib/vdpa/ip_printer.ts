/**
 * iproute2's json_print layer, reimplemented (behaviour, not code): every
 * value is printed once with a text form and a JSON key, and a streaming
 * JSON writer places commas, newlines and indentation exactly as iproute2
 * 6.1's json_writer does. The `vdpa` formatters (`format.ts`) follow
 * iproute2's order of printing through it.
 *
 * @module
 */

/**
 * iproute2's json_print behaviour: text mode prints each value's text form;
 * JSON mode streams keys and values with iproute2's json_writer spacing
 * (4-space indent when pretty, `[ a,b ]` arrays, one final newline).
 */
export class IpPrinter {
  readonly #json: boolean;
  readonly #pretty: boolean;
  #out = "";
  #depth = 0;
  #sep = "";
  #indent = 0;

  /** A printer for text (json false) or JSON, pretty or not. */
  constructor(options: { json?: boolean; pretty?: boolean } = {}) {
    this.#json = options.json ?? false;
    this.#pretty = this.#json && (options.pretty ?? false);
  }

  /** True in JSON mode. */
  get json(): boolean {
    return this.#json;
  }

  #eor(): void {
    if (this.#sep) this.#out += this.#sep;
    this.#sep = ",";
  }

  #eol(): void {
    if (this.#pretty) this.#out += "\n" + "    ".repeat(this.#depth);
  }

  #puts(s: string): void {
    const esc: Record<string, string> = {
      "\t": "\\t",
      "\n": "\\n",
      "\r": "\\r",
      "\f": "\\f",
      "\b": "\\b",
      "\\": "\\\\",
      '"': '\\"',
    };
    let body = "";
    for (const ch of s) body += esc[ch] ?? ch;
    this.#out += `"${body}"`;
  }

  #name(key: string): void {
    this.#eor();
    this.#eol();
    this.#sep = "";
    this.#puts(key);
    this.#out += this.#pretty ? ": " : ":";
  }

  #begin(c: string): void {
    this.#eor();
    this.#out += c;
    this.#depth++;
    this.#sep = "";
  }

  #end(c: string): void {
    this.#depth--;
    if (this.#sep) this.#eol();
    this.#out += c;
    this.#sep = ",";
  }

  #raw(value: string): void {
    this.#eor();
    this.#out += value;
  }

  /** Text-mode output only (iproute2's plain printf in a `!json` branch). */
  text(s: string): void {
    if (!this.#json) this.#out += s;
  }

  /** open_json_object(key): JSON only. */
  openObject(key: string | null): void {
    if (!this.#json) return;
    if (key !== null) this.#name(key);
    this.#begin("{");
  }

  /** close_json_object(): JSON only. */
  closeObject(): void {
    if (this.#json) this.#end("}");
  }

  /** open_json_array(PRINT_ANY, key): JSON array, or the key as text. */
  openArray(key: string): void {
    if (this.#json) {
      this.#name(key);
      this.#begin("[");
      if (this.#pretty) this.#out += " ";
    } else {
      this.#out += key;
    }
  }

  /** close_json_array(PRINT_JSON, NULL): JSON only. */
  closeArray(): void {
    if (!this.#json) return;
    if (this.#pretty && this.#sep) this.#out += " ";
    this.#sep = "";
    this.#end("]");
  }

  /** print_string(PRINT_ANY, key, fmt, value); `text` is the formatted text. */
  string(key: string | null, value: string, options: { text: string }): void {
    const text = options.text;
    if (!this.#json) {
      this.#out += text;
      return;
    }
    if (key !== null) this.#name(key);
    this.#eor();
    this.#puts(value);
  }

  /** print_uint / print_u64 (PRINT_ANY): decimal in JSON, `text` otherwise. */
  uint(
    key: string | null,
    value: number | bigint,
    options: { text: string },
  ): void {
    const text = options.text;
    if (!this.#json) {
      this.#out += text;
      return;
    }
    if (key !== null) this.#name(key);
    this.#raw(String(value));
  }

  /** print_bool (PRINT_ANY): true/false in JSON, `text` otherwise. */
  bool(key: string, value: boolean, options: { text: string }): void {
    const text = options.text;
    if (!this.#json) {
      this.#out += text;
      return;
    }
    this.#name(key);
    this.#raw(value ? "true" : "false");
  }

  /** print_nl(): a newline in text mode. */
  nl(): void {
    if (!this.#json) this.#out += "\n";
  }

  /** inc_indent + print_indent (text mode only, iproute2 indent steps of 2). */
  indentIn(): void {
    this.#indent += 2;
    this.text(" ".repeat(this.#indent));
  }

  /** dec_indent. */
  indentOut(): void {
    if (this.#indent >= 2) this.#indent -= 2;
  }

  /** Everything printed; in JSON mode the writer's final newline is added. */
  finish(): string {
    return this.#json ? this.#out + "\n" : this.#out;
  }
}
