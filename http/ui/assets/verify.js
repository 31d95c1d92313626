// verify.js: the auditor's checks, done in the browser from the API's own
// fields with Web Crypto, so that they do not rest on the server saying
// that all is well:
//
//   - the hash chain of an offer's history: each event's hash recomputed
//     from its canonical envelope (docs/events.md, "The hash chain"; the
//     server's eventstore.Canonical), each prev_hash the hash before it;
//   - each event's inclusion in the Merkle tree of a signed tree head
//     (RFC 9162, section 2.1.3.2), from the leaf of the recomputed hash;
//   - the head's Ed25519 signature, where Web Crypto has Ed25519.
//
// Nothing here touches the page.

// Num is a JSON number as written: the canonical envelope keeps numbers
// exactly as stored, which a JavaScript number would not (1.50, 1e3, large
// integers).
export class Num {
  constructor(raw) { this.raw = raw; }
}

const numberRe = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

// parseJSON parses JSON text into Maps (objects, keys in order, a repeated
// key keeping its last value as Go's decoder does), Arrays, strings, Num,
// booleans and null.
export function parseJSON(text) {
  let i = 0;
  const fail = (what) => { throw new SyntaxError(`JSON: ${what} at offset ${i}`); };
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i += 1; };
  const expect = (c) => { ws(); if (text[i] !== c) fail(`expected ${c}`); i += 1; };
  const str = () => {
    ws();
    if (text[i] !== '"') fail('expected a string');
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) fail('unterminated string');
    const s = JSON.parse(text.slice(i, j + 1));
    i = j + 1;
    return s;
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i += 1;
      const m = new Map();
      ws();
      if (text[i] === '}') { i += 1; return m; }
      for (;;) {
        const k = str();
        expect(':');
        m.set(k, value());
        ws();
        if (text[i] === '}') { i += 1; return m; }
        expect(',');
      }
    }
    if (c === '[') {
      i += 1;
      const a = [];
      ws();
      if (text[i] === ']') { i += 1; return a; }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ']') { i += 1; return a; }
        expect(',');
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(word, i)) { i += word.length; return v; }
    }
    numberRe.lastIndex = i;
    const m = numberRe.exec(text);
    if (!m) fail('unexpected character');
    i += m[0].length;
    return new Num(m[0]);
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing data');
  return v;
}

// plain turns parsed JSON into ordinary JavaScript values, for display.
export function plain(v) {
  if (v instanceof Num) return Number(v.raw);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
  return v;
}

// quote writes s as a JSON string as Go's encoding/json does with HTML
// escaping off: quotes, backslashes and control characters escaped
// (\b \f \n \r \t by name, the rest as \u00xx), U+2028 and U+2029 escaped,
// everything else as is.
function quote(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

// byCodePoint orders strings as Go sorts them (by their UTF-8 bytes, which
// is the order of their code points; JavaScript's < compares UTF-16 units).
function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let k = 0; k < Math.min(x.length, y.length); k += 1) {
    const d = x[k].codePointAt(0) - y[k].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

// canonical writes a parsed JSON value with sorted keys and no white space.
export function canonical(v) {
  if (v === null) return 'null';
  if (v === true || v === false) return String(v);
  if (v instanceof Num) return v.raw;
  if (typeof v === 'string') return quote(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v instanceof Map) {
    return `{${[...v.keys()].sort(byCodePoint).map((k) => `${quote(k)}:${canonical(v.get(k))}`).join(',')}}`;
  }
  throw new TypeError(`canonical: ${typeof v} is not a parsed JSON value`);
}

// envelope is the canonical envelope of an event as the history serves it
// (a Map from parseJSON): actor, correlation_id, causation_id and
// occurred_at go under metadata, an absent correlation or causation id is
// "", position and hash are left out.
export function envelope(ev) {
  const idOrEmpty = (k) => ev.get(k) ?? '';
  const metadata = new Map([['actor', ev.get('actor')], ['causation_id', idOrEmpty('causation_id')],
    ['correlation_id', idOrEmpty('correlation_id')], ['occurred_at', ev.get('occurred_at')]]);
  return canonical(new Map([['data', ev.get('data')], ['id', ev.get('id')], ['metadata', metadata],
    ['prev_hash', ev.get('prev_hash') ?? null], ['schema_version', ev.get('schema_version')], ['stream', ev.get('stream')],
    ['type', ev.get('type')], ['version', ev.get('version')]]));
}

const hexOf = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

function bytesOf(hex) {
  if (typeof hex !== 'string' || !/^([0-9a-f]{2})*$/.test(hex)) throw new SyntaxError(`not lower-case hex: ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let k = 0; k < out.length; k += 1) out[k] = parseInt(hex.slice(2 * k, 2 * k + 2), 16);
  return out;
}

async function sha256(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(len);
  let at = 0;
  for (const p of parts) { buf.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}

// eventHash is the hex SHA-256 of an event's canonical envelope.
export async function eventHash(ev) {
  return hexOf(await sha256(new TextEncoder().encode(envelope(ev))));
}

const num = (v) => (v instanceof Num ? Number(v.raw) : Number(v));

// checkChain checks the hash chains of events (parsed history events, of
// one or more streams, each stream complete from its first event). It
// returns {ok, checked, hashes, bad}: hashes maps each position to the hash
// recomputed from its content; bad, when ok is false, is the first event
// found wrong, in log order, and why: "content" (its hash does not match
// its content), "link" (its prev_hash is not the hash before it) or
// "version" (a version is missing or repeated).
export async function checkChain(events) {
  const hashes = new Map();
  const streams = new Map();
  for (const ev of events) {
    hashes.set(num(ev.get('position')), await eventHash(ev));
    const s = ev.get('stream');
    if (!streams.has(s)) streams.set(s, []);
    streams.get(s).push(ev);
  }
  let bad = null;
  const note = (ev, why) => {
    if (!bad || num(ev.get('position')) < num(bad.event.get('position'))) bad = {event: ev, why};
  };
  for (const evs of streams.values()) {
    evs.sort((a, b) => num(a.get('version')) - num(b.get('version')));
    let prev = null;
    for (const [k, ev] of evs.entries()) {
      const h = hashes.get(num(ev.get('position')));
      if (num(ev.get('version')) !== k + 1) { note(ev, 'version'); break; }
      if ((ev.get('prev_hash') ?? null) !== prev) { note(ev, 'link'); break; }
      if (h !== ev.get('hash')) { note(ev, 'content'); break; }
      prev = ev.get('hash');
    }
  }
  return {ok: bad === null, checked: events.length, hashes, bad};
}

// inclusionRoot computes the root that an RFC 9162 inclusion proof leads
// to from leaf (the leaf hash) at index in a tree of size leaves
// (section 2.1.3.2), or null when the proof does not fit the tree.
async function inclusionRoot(index, size, leaf, proof) {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  const one = Uint8Array.of(1);
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(one, p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await sha256(one, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

// checkInclusion checks the proofs of GET /v1/offers/{id}/proof (parsed)
// against head (parsed GET /v1/audit/head): each event's leaf is
// SHA-256(0x00 || its hash recomputed from its content, from checkChain's
// hashes), and its proof must lead to the head's root. It returns
// {ok, proved, pending, bad}: pending counts the events after the head's
// head (not yet covered by it); bad is the first position whose proof
// fails or is missing.
export async function checkInclusion(head, proofs, hashes) {
  const size = num(head.get('size'));
  const root = head.get('root_hash');
  if (proofs.get('root_hash') !== root || num(proofs.get('size')) !== size) {
    return {ok: false, proved: 0, pending: 0, bad: null};
  }
  const want = bytesOf(root);
  const proven = new Set();
  let bad = null;
  for (const item of proofs.get('items')) {
    const pos = num(item.get('position'));
    const h = hashes.get(pos);
    let got = null;
    if (h !== undefined) {
      got = await inclusionRoot(num(item.get('leaf_index')), size, await sha256(Uint8Array.of(0), bytesOf(h)),
        item.get('proof').map(bytesOf));
    }
    if (got && hexOf(got) === hexOf(want)) proven.add(pos);
    else if (bad === null || pos < bad) bad = pos;
  }
  // Leaves are in log order, so an event of the history below the last
  // one proved lies inside the tree too and must have been proved: one the
  // server left out is not in the log it signed. Events after it are
  // newer than the head.
  const last = Math.max(0, ...proven);
  for (const pos of hashes.keys()) {
    if (pos < last && !proven.has(pos) && (bad === null || pos < bad)) bad = pos;
  }
  if (bad !== null) return {ok: false, proved: proven.size, pending: 0, bad};
  return {ok: true, proved: proven.size, pending: hashes.size - proven.size, bad: null};
}

// headMessage is what a tree head's signature covers (docs/audit.md).
function headMessage(head) {
  const size = head.get('size');
  return `offerflow tree head v1\nsize ${size instanceof Num ? size.raw : size}\nroot_hash ${head.get('root_hash')}\n`
    + `timestamp ${head.get('timestamp')}\nkey_id ${head.get('key_id')}\n`;
}

// checkSignature verifies the head's Ed25519 signature with key (parsed
// GET /v1/audit/key). It returns "valid", "invalid", or "unsupported" when
// this browser's Web Crypto has no Ed25519.
export async function checkSignature(head, key) {
  const pub = bytesOf(key.get('public_key'));
  if (hexOf(await sha256(pub)).slice(0, 16) !== head.get('key_id')) return 'invalid';
  let k;
  try {
    k = await crypto.subtle.importKey('raw', pub, {name: 'Ed25519'}, false, ['verify']);
  } catch (err) {
    if (err && err.name === 'NotSupportedError') return 'unsupported';
    throw err;
  }
  const ok = await crypto.subtle.verify({name: 'Ed25519'}, k, bytesOf(head.get('signature')),
    new TextEncoder().encode(headMessage(head)));
  return ok ? 'valid' : 'invalid';
}
