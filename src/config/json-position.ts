/** Where a JSON text first goes wrong: `JSON.parse` in Bun gives no position, so config errors find it here. */

/** First syntax error of a JSON text (RFC 8259), or undefined if it has none. */
export function locateJsonError(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  class Stop {
    constructor(readonly message: string) {}
  }
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] ?? "")) i++;
  };
  const fail = (message: string): never => {
    throw new Stop(i >= text.length ? "unexpected end of file" : message);
  };
  const expect = (c: string) => (text[i] === c ? i++ : fail(`expected "${c}"`));
  const str = () => {
    expect('"');
    for (;;) {
      const c = text[i];
      if (c === undefined) fail("unterminated string");
      else if (c === '"') return void i++;
      else if (c === "\\") {
        i++;
        if (text[i] === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) i += 5;
        else if ('"\\/bfnrt'.includes(text[i] ?? "x")) i++;
        else fail("bad escape in string");
      } else if (c < " ") fail("control character in string");
      else i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        ws();
        if (c === "{") {
          if (text[i] !== '"') fail("expected a quoted property name");
          str();
          ws();
          expect(":");
        }
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === close) return void i++;
        else fail(`expected "," or "${close}"`);
      }
    }
    if (c === '"') {
      str();
      return;
    }
    const lit = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
    lit.lastIndex = i;
    if (lit.exec(text)) {
      i = lit.lastIndex;
      return;
    }
    fail(`unexpected character "${c}"`);
  };
  try {
    value();
    ws();
    if (i < text.length) fail("unexpected text after the end of the document");
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return { offset: i, message: e.message };
    throw e;
  }
}
