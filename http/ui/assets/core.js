// core.js: building the DOM, calling the API, showing its errors, and the
// live updates. Every piece of data reaches the page as a text node or an
// attribute value, never as markup: nothing here parses strings as HTML.

import {t} from './i18n.js';

export {fmtDay, fmtNumber, fmtTime, months} from './i18n.js';
export {t};

// STATUSES are the offer statuses, in the order of a filter.
export const STATUSES = ['waiting', 'waiting_for_confirmation', 'accepted', 'rejected', 'withdrawn', 'expired', 'delivery_failed', 'superseded'];

// statusLabel is an offer status as people read it.
export function statusLabel(status) { return STATUSES.includes(status) ? t(`status.${status}`) : status; }

// allows reports whether the API offers action on offer o (its
// allowed_actions, which the domain computes from the commands' own rules),
// so a page shows a button exactly when it would work; the server decides
// all the same.
export function allows(o, action) { return (o.allowed_actions || []).includes(action); }

// MESSAGE_LIMIT is the longest message or reason, in Unicode code points.
export const MESSAGE_LIMIT = 2000;

// h builds an element. attrs: "class", "dataset" (an object), "on<event>"
// (a listener), "value"/"checked"/"disabled" (set as properties, after the
// children, so that a select's value finds its options); anything else
// becomes an attribute (true: present, false/null/undefined: absent).
// Children are nodes or strings; strings become text nodes.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  const props = {};
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') on(el, k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'disabled') props[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  Object.assign(el, props);
  return el;
}

// Listeners set through h live in el.handlers and are called by one shared
// dispatcher, so that patch can hand a kept element the listeners of the
// element it was redrawn as (whose closures hold the current data).
function dispatch(ev) {
  const fn = this.handlers && this.handlers[ev.type];
  if (fn) fn.call(this, ev);
}

function on(el, type, fn) {
  if (!el.handlers) el.handlers = {};
  el.handlers[type] = fn;
  el.addEventListener(type, dispatch);
}

// patch makes parent's children look like children (nodes or strings)
// while keeping the nodes already there: an element is kept when its
// data-key matches (rows keyed by id) or, unkeyed, when it stands at the same
// place with the same tag; a kept element takes the new attributes,
// listeners and children, recursively. So a live update leaves the focused
// button, and an element someone is about to click, where they are.
// A form control keeps what the person typed (its value is not touched), and
// a button busy with a request (data-busy) stays disabled until it is done.
export function patch(parent, ...children) {
  const next = children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
  const keyed = new Map();
  for (const c of parent.children) if (c.dataset.key !== undefined) keyed.set(c.dataset.key, c);
  next.forEach((n, i) => {
    const cur = parent.childNodes[i] || null;
    let match = null;
    if (n.nodeType === Node.ELEMENT_NODE && n.dataset.key !== undefined) {
      match = keyed.get(n.dataset.key) || null;
      if (match && match.tagName !== n.tagName) match = null;
      keyed.delete(n.dataset.key);
    } else if (cur && cur.nodeType === n.nodeType && (n.nodeType !== Node.ELEMENT_NODE
      || (cur.tagName === n.tagName && cur.dataset.key === undefined))) {
      match = cur;
    }
    if (!match) {
      parent.insertBefore(n, cur);
      return;
    }
    if (match !== cur) parent.insertBefore(match, cur);
    if (n.nodeType === Node.ELEMENT_NODE) morph(match, n);
    else if (match.data !== n.data) match.data = n.data;
  });
  while (parent.childNodes.length > next.length) parent.lastChild.remove();
  labelCells(parent.closest('table') || parent);
}

// labelCells gives every cell of the tables in root (or root itself) its
// column's heading as data-label, which a narrow screen shows beside the
// value when it stacks a row's cells (app.css).
export function labelCells(root) {
  const tables = root.tagName === 'TABLE' ? [root] : root.querySelectorAll('table');
  for (const table of tables) {
    const heads = [...table.querySelectorAll(':scope > thead th')].map((th) => th.textContent);
    for (const tr of table.querySelectorAll(':scope > tbody > tr')) {
      [...tr.cells].forEach((td, i) => {
        const label = td.colSpan > 1 ? '' : heads[i] || '';
        if (td.dataset.label !== label) td.dataset.label = label;
      });
    }
  }
}

function morph(el, fresh) {
  const isBusy = el.dataset.busy !== undefined;
  for (const a of [...el.attributes]) if (!fresh.hasAttribute(a.name) && a.name !== 'data-busy' && a.name !== 'aria-busy') el.removeAttribute(a.name);
  for (const a of fresh.attributes) if (el.getAttribute(a.name) !== a.value) el.setAttribute(a.name, a.value);
  for (const type of Object.keys(fresh.handlers || {})) el.addEventListener(type, dispatch);
  el.handlers = fresh.handlers;
  if ('disabled' in fresh && !isBusy && el.disabled !== fresh.disabled) el.disabled = fresh.disabled;
  if (el.tagName === 'SELECT') {
    const keep = el.value;
    patch(el, ...fresh.childNodes);
    if ([...el.options].some((o) => o.value === keep)) el.value = keep;
    return;
  }
  patch(el, ...fresh.childNodes);
}

// field wraps a control with its label (and an optional hint) so that every
// input is labelled.
export function field(label, control, hint) {
  const id = control.id || (control.id = uniqueId('f'));
  return h('div', {class: 'field'}, h('label', {for: id}, label), control, hint || null);
}

let idSeq = 0;
// uniqueId returns a new element id with prefix.
export function uniqueId(prefix) { idSeq += 1; return `${prefix}-${idSeq}`; }

// statusBadge shows an offer status with its label and colour.
export function statusBadge(status) {
  return h('span', {class: `status status-${status}`, dataset: {status}}, statusLabel(status));
}

// codePoints counts what the API counts for text limits.
export function codePoints(s) { return [...s].length; }


// newKey returns a random Idempotency-Key. crypto.getRandomValues works on
// plain http too, unlike crypto.randomUUID.
export function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// ApiError is a failed API call, with the fields of its problem+json body.
export class ApiError extends Error {
  constructor(status, problem) {
    const p = problem || {};
    super(p.detail || p.title || t('error.status', {status}));
    this.status = status;
    this.title = p.title || t('error.failed.title', {status});
    this.detail = p.detail || '';
    this.code = p.code || '';
  }
}

// position is the highest log position this page has written or been told
// of. Every query asks the server to wait until its read models have caught
// up with it, so the page always shows its own writes (read-your-writes).
let position = 0;

// seen raises position to pos (a header value, an event id or a number).
export function seen(pos) {
  const n = Number(pos);
  if (Number.isSafeInteger(n) && n > position) position = n;
}

// api calls the JSON API with the session cookie. Writes always send a JSON
// body with Content-Type application/json. Errors are thrown as ApiError; a
// 401 (the session ended) goes back to the sign-in page.
export async function api(method, path, opts = {}) {
  const headers = {Accept: 'application/json'};
  let url = path;
  if (method === 'GET' && position > 0) {
    url += `${url.includes('?') ? '&' : '?'}min_position=${position}`;
  }
  const init = {method, headers, credentials: 'same-origin', cache: 'no-store'};
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body === undefined ? {} : opts.body);
  }
  if (opts.ifMatch !== undefined) headers['If-Match'] = `"${opts.ifMatch}"`;
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  let res;
  try {
    res = await fetch(url, init);
  } catch {
    throw new ApiError(0, {title: t('error.network.title'), detail: t('error.network.detail'), code: 'network'});
  }
  seen(res.headers.get('X-Log-Position'));
  if (res.status === 401 && path !== '/session') {
    location.assign('/');
  }
  if (!res.ok) {
    let problem = {};
    try { problem = await res.json(); } catch { /* not JSON: keep the status */ }
    throw new ApiError(res.status, problem);
  }
  if (res.status === 204) return null;
  // opts.text: the body as sent, for whoever must read it exactly (the
  // auditor's hash checks keep numbers as written).
  return opts.text ? res.text() : res.json();
}

// listAll fetches every page of a list endpoint (for select boxes).
export async function listAll(path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', `${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// nextPage fetches the list page at path (a "Load more") and returns its
// items that are not among have (a live update may have listed them
// already) and the cursor after it.
export async function nextPage(path, have) {
  const page = await api('GET', path);
  const ids = new Set(have.map((x) => x.id));
  return {items: page.items.filter((x) => !ids.has(x.id)), cursor: page.next_cursor};
}

// showError puts an error in the page's alert box, in plain words.
export function showError(err) {
  const box = document.getElementById('notice');
  const e = err instanceof ApiError ? err : new ApiError(0, {title: t('error.generic'), detail: String(err && err.message || err)});
  document.getElementById('notice-title').textContent = e.title;
  document.getElementById('notice-detail').textContent = e.detail && e.detail !== e.title ? e.detail : '';
  const code = document.getElementById('notice-code');
  code.textContent = e.code;
  code.hidden = !e.code;
  box.hidden = false;
}

// clearError hides the alert box.
export function clearError() { document.getElementById('notice').hidden = true; }

// guard runs fn, showing any error it throws; it returns fn's result or
// undefined after an error.
export async function guard(fn) {
  try {
    return await fn();
  } catch (err) {
    showError(err);
    return undefined;
  }
}

// busy runs fn, a person's action started by button: the button is
// disabled meanwhile (one click, one request) and says "Sending…" (data-busy,
// shown by the stylesheet, so that a redraw during the request keeps the
// label right). A success clears the alert an earlier failure left; a
// failure shows its error. Focus stays where the person acted: on the button
// when it is still on the page (a disabled button loses it), else on its
// successor: what successor() names (such as the status that replaced a
// row's buttons), or else the first control that followed the button before
// the action and is still there (the next row's, after a row was removed).
export async function busy(button, fn, successor) {
  if (button.disabled) return undefined;
  const focused = document.activeElement === button;
  const after = focused ? followers(button) : [];
  button.disabled = true;
  button.dataset.busy = t('busy');
  button.setAttribute('aria-busy', 'true');
  try {
    const v = await fn();
    clearError();
    return v;
  } catch (err) {
    showError(err);
    return undefined;
  } finally {
    delete button.dataset.busy;
    button.removeAttribute('aria-busy');
    button.disabled = false;
    if (focused && (document.activeElement === document.body || document.activeElement === null)) {
      const next = shown(button) ? button : (successor && successor()) || after.find(shown);
      if (next) next.focus();
    }
  }
}

// TABBABLE selects what a person reaches with the Tab key.
const TABBABLE = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])';

// followers are the controls after el in the page, in order.
function followers(el) {
  const root = document.getElementById('main') || document.body;
  return [...root.querySelectorAll(TABBABLE)]
    .filter((x) => !el.contains(x) && (el.compareDocumentPosition(x) & Node.DOCUMENT_POSITION_FOLLOWING));
}

// shown reports whether el is on the page, visible and can take focus.
function shown(el) {
  return !!el && el.isConnected && !el.disabled && el.getClientRects().length > 0;
}

// bus carries the live updates to whoever shows something they change:
// events "offer" and "badge" (detail: the event's data) and "open" (the
// stream (re)connected, so anything may have changed meanwhile).
export const bus = new EventTarget();

// connectStream follows /v1/stream; the session cookie authenticates it.
// EventSource reconnects by itself and sends Last-Event-ID, so nothing is
// missed across a reconnect.
export function connectStream() {
  const es = new EventSource('/v1/stream');
  const emit = (type, detail) => bus.dispatchEvent(new CustomEvent(type, {detail}));
  es.addEventListener('open', () => emit('open', null));
  es.addEventListener('badge', (e) => {
    seen(e.lastEventId);
    emit('badge', JSON.parse(e.data));
  });
  es.addEventListener('offer', (e) => {
    const data = JSON.parse(e.data);
    seen(data.position);
    emit('offer', data);
  });
  return es;
}

// debounce calls fn once, ms after the last of a burst of calls.
export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
