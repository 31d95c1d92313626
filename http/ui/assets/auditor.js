// auditor.js: the auditor's pages: the offers to pick from (searchable),
// and an offer's history as a timeline whose hash chain, inclusion in the
// signed log and head signature are checked here in the browser
// (verify.js) from the API's own fields, not taken from the server's word.

import {
  STATUSES, api, busy, field, fmtDay, fmtNumber, fmtTime, guard, h, nextPage, patch, statusBadge, statusLabel, t,
} from './core.js';
import {has} from './i18n.js';
import {checkChain, checkInclusion, checkSignature, parseJSON, plain} from './verify.js';

// auditorSections lists the auditor's sections.
export function auditorSections() {
  return [{id: 'audit', label: t('nav.audit'), mount: (id) => (id ? offerAudit(id) : auditList())}];
}

// auditList is the offers the auditor may read, newest first, with a
// status filter (asked of the API) and a search over the customer's name
// and the offer's id (in the offers loaded).
function auditList() {
  const search = h('input', {id: 'audit-search', type: 'search', autocomplete: 'off'});
  const filter = h('select', {id: 'audit-filter'},
    h('option', {value: ''}, t('offers.filter.all')),
    STATUSES.map((v) => h('option', {value: v}, statusLabel(v))));
  const body = h('tbody');
  const more = h('button', {type: 'button', id: 'audit-more', hidden: true}, t('more'));
  const count = h('p', {id: 'audit-count', class: 'muted small', role: 'status'});
  const state = {offers: [], cursor: null};

  const matches = (o) => {
    const q = search.value.trim().toLocaleLowerCase();
    return !q || [o.customer_name || '', o.id, o.customer_id].some((s) => s.toLocaleLowerCase().includes(q));
  };
  const render = () => {
    const shown = state.offers.filter(matches);
    patch(body, shown.length === 0 ? h('tr', null, h('td', {colspan: 4, class: 'muted'}, t(state.offers.length ? 'audit.nomatch' : 'offers.none')))
      : shown.map((o) => h('tr', {dataset: {key: o.id, offerId: o.id}},
        h('td', null, h('a', {href: `#audit/${encodeURIComponent(o.id)}`, class: 'audit-link'}, o.customer_name || o.customer_id)),
        h('td', null, statusBadge(o.status)),
        h('td', null, fmtTime(o.created_at)),
        h('td', {class: 'id'}, h('code', null, o.id)))));
    count.textContent = t('audit.count', {n: fmtNumber(shown.length), of: fmtNumber(state.offers.length)});
    more.hidden = !state.cursor;
  };
  const query = (cursor) => {
    const p = new URLSearchParams({limit: '50'});
    if (filter.value) p.set('status', filter.value);
    if (cursor) p.set('cursor', cursor);
    return `/v1/offers?${p}`;
  };
  const refresh = async () => {
    const page = await api('GET', query(null));
    state.offers = page.items;
    state.cursor = page.next_cursor;
    render();
  };
  search.addEventListener('input', render);
  // Enter on a search that leaves one offer opens it.
  search.addEventListener('keydown', (ev) => {
    const shown = state.offers.filter(matches);
    if (ev.key === 'Enter' && shown.length === 1) location.hash = `#audit/${encodeURIComponent(shown[0].id)}`;
  });
  filter.addEventListener('change', () => guard(refresh));
  more.addEventListener('click', () => busy(more, async () => {
    const next = await nextPage(query(state.cursor), state.offers);
    state.offers.push(...next.items);
    state.cursor = next.cursor;
    render();
  }));
  const el = h('div', {class: 'view'},
    h('section', {class: 'card', 'aria-labelledby': 'audit-list-title'},
      h('h2', {id: 'audit-list-title'}, t('audit.title')),
      h('p', {class: 'muted'}, t('audit.intro')),
      h('div', {class: 'row'}, field(t('audit.search'), search), field(t('offers.show'), filter)),
      count,
      h('table', {id: 'audit-offers'},
        h('thead', null, h('tr', null, ['col.customer', 'col.status', 'col.sent', 'col.offer'].map((c) => h('th', {scope: 'col'}, t(c))))),
        body),
      more));
  return {el, live: false, refresh};
}

// STATUS_AFTER is the status each event of an offer (by the part of its
// type after "offer.") leaves it in; the others (read) leave it as it was.
const STATUS_AFTER = {
  created: 'waiting', dispatched: 'waiting', delivered: 'waiting_for_confirmation', delivery_failed: 'delivery_failed',
  accepted: 'accepted', rejected: 'rejected', withdrawn: 'withdrawn', expired: 'expired',
};

// offerEvent is the part of the type of an offer's event (offer.*, and
// licenses.granted of its grant) after the dot, or "".
function offerEvent(type) {
  const dot = type.indexOf('.');
  return ['offer', 'licenses'].includes(type.slice(0, dot)) ? type.slice(dot + 1) : '';
}

// actorLabel names who acted: the token's name where it had one, with the
// role; else the role and the token's id, or the system's process in the
// page's language (a process the catalogue does not know yet by its id).
function actorLabel(a) {
  const role = has(`role.${a.role}`) ? t(`role.${a.role}`) : a.role;
  if (a.name) return t('audit.actor.named', {name: a.name, role});
  if (a.role === 'system' && has(`process.${a.subject}`)) return t('audit.actor.system', {role, process: t(`process.${a.subject}`)});
  return t('audit.actor', {role, subject: a.subject});
}

// changes says what an event changed, from its data.
function changes(kind, d) {
  const out = [];
  const add = (key, vars) => out.push(h('li', null, t(key, vars)));
  if (kind === 'created') {
    add('audit.change.items', {items: (d.items || []).map((it) => t('offers.item', {product: it.product_name, months: fmtNumber(it.term_months)})).join(', ')});
    out.push(h('li', null, t('audit.change.message'), ' ', d.message ? h('q', {class: 'message-inline'}, d.message) : t('offers.nomessage')));
    if (d.expires_at) add('audit.change.expires', {time: fmtTime(d.expires_at)});
  }
  if (kind === 'dispatched') add('audit.change.dispatch', {n: fmtNumber(d.dispatch)});
  if (kind === 'delivery_failed') add('audit.change.failed', {error: d.error || '', n: fmtNumber(d.attempts || 0)});
  if (kind === 'granted') {
    for (const l of d.licenses || []) {
      add(l.valid_until ? 'grant.until' : 'grant.perlearner', {product: l.product_name, date: fmtDay(l.valid_until)});
    }
  }
  if (kind === 'rejected') {
    // Schema version 1 kept the reason as text, version 2 as {code, text}.
    const reason = typeof d.reason === 'string' ? d.reason : (d.reason && d.reason.text) || '';
    if (reason) add('offers.reason', {reason});
  }
  return out;
}

// offerAudit is one offer's history as a timeline, with the checks.
function offerAudit(id) {
  const title = h('h2', {id: 'audit-title', tabindex: -1}, t('audit.offer.title'));
  const summary = h('p', {id: 'audit-summary', class: 'muted'});
  const chain = h('div', {id: 'audit-chain', class: 'check', role: 'status', dataset: {state: 'checking'}}, t('audit.chain.checking'));
  const proof = h('div', {id: 'audit-proof', class: 'check', role: 'status', dataset: {state: 'checking'}}, t('audit.proof.checking'));
  const timeline = h('ol', {id: 'timeline', class: 'timeline', 'aria-label': t('audit.timeline')});
  const recheck = h('button', {type: 'button', id: 'audit-recheck'}, t('audit.recheck'));

  const box = (el, state, heading, ...detail) => {
    el.dataset.state = state;
    patch(el, h('strong', {class: 'verdict'}, heading), ...detail.map((d) => h('span', {class: 'detail'}, d)));
  };

  const drawTimeline = (events, bad) => {
    let status = null;
    patch(timeline, events.map((ev) => {
      const e = plain(ev);
      const kind = offerEvent(e.type);
      status = STATUS_AFTER[kind] || status;
      const wrong = bad && bad.event === ev;
      return h('li', {dataset: {key: String(e.position), position: String(e.position), version: String(e.version), type: e.type},
        class: wrong ? 'event bad' : 'event'},
      h('div', {class: 'when'}, h('time', {datetime: e.occurred_at}, fmtTime(e.occurred_at))),
      h('div', {class: 'what'},
        h('strong', null, has(`event.${e.type}`) ? t(`event.${e.type}`) : t('audit.event.other', {type: e.type})),
        STATUS_AFTER[kind] ? [' ', statusBadge(status)] : null),
      h('div', {class: 'actor'}, actorLabel(e.actor)),
      h('ul', {class: 'changes'}, changes(kind, e.data || {})),
      wrong ? h('p', {class: 'error'}, t(`audit.chain.${bad.why}`, {version: fmtNumber(e.version), position: fmtNumber(e.position)})) : null,
      h('div', {class: 'hash muted small'}, t('audit.hash'), ' ', h('code', null, e.hash)));
    }));
  };

  const checkProof = async (hashes) => {
    let head;
    try {
      head = parseJSON(await api('GET', '/v1/audit/head', {text: true}));
    } catch (err) {
      if (err.status === 404) { box(proof, 'none', t('audit.proof.none')); return; }
      throw err;
    }
    const size = plain(head).size;
    const [proofs, key] = await Promise.all([
      api('GET', `/v1/offers/${encodeURIComponent(id)}/proof?size=${size}`, {text: true}).then(parseJSON),
      api('GET', '/v1/audit/key', {text: true}).then(parseJSON)]);
    const incl = await checkInclusion(head, proofs, hashes);
    const sig = await checkSignature(head, key);
    const hd = plain(head);
    const signed = t(`audit.sig.${sig}`, {key: hd.key_id, time: fmtTime(hd.timestamp)});
    if (!incl.ok) {
      box(proof, 'bad', t('audit.proof.bad'), incl.bad === null ? t('audit.proof.mismatch', {size: fmtNumber(size)})
        : t('audit.proof.badpos', {position: fmtNumber(incl.bad), size: fmtNumber(size)}), signed);
      return;
    }
    box(proof, sig === 'invalid' ? 'bad' : 'ok', t(sig === 'invalid' ? 'audit.proof.badsig' : 'audit.proof.ok'),
      t('audit.proof.detail', {n: fmtNumber(incl.proved), size: fmtNumber(size), root: hd.root_hash.slice(0, 16)}),
      incl.pending ? t('audit.proof.pending', {n: fmtNumber(incl.pending)}) : null, signed);
  };

  const refresh = async () => {
    box(chain, 'checking', t('audit.chain.checking'));
    box(proof, 'checking', t('audit.proof.checking'));
    const offer = await api('GET', `/v1/offers/${encodeURIComponent(id)}`);
    // The offer alone does not name its customer; the list of the
    // customer's offers does.
    const same = await api('GET', `/v1/offers?customer_id=${encodeURIComponent(offer.customer_id)}&limit=1`);
    const customer = (same.items[0] && same.items[0].customer_name) || offer.customer_id;
    title.textContent = t('audit.offer.title.to', {customer});
    patch(summary, t('status.prefix'), ' ', statusBadge(offer.status), ' ',
      t('audit.offer.summary', {id: offer.id, time: fmtTime(offer.created_at)}),
      offer.opened_by ? ` ${t('audit.offer.opened', {name: offer.opened_by})}` : '',
      offer.decided_by ? ` ${t('audit.offer.decided', {name: offer.decided_by})}` : '');
    // The history as the API serves it, parsed so that numbers stay as
    // written: the hashes are recomputed from exactly these fields.
    const events = [];
    let cursor = null;
    do {
      const page = parseJSON(await api('GET', `/v1/offers/${encodeURIComponent(id)}/history?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {text: true}));
      events.push(...page.get('items'));
      cursor = page.get('next_cursor');
    } while (cursor);
    const result = await checkChain(events);
    drawTimeline(events, result.bad);
    if (result.ok) {
      box(chain, 'ok', t('audit.chain.intact'), t('audit.chain.intact.detail', {n: fmtNumber(result.checked)}));
    } else {
      const e = plain(result.bad.event);
      box(chain, 'bad', t('audit.chain.broken'), t(`audit.chain.${result.bad.why}`, {version: fmtNumber(e.version), position: fmtNumber(e.position)}));
    }
    await checkProof(result.hashes);
  };
  recheck.addEventListener('click', () => busy(recheck, refresh));

  const el = h('div', {class: 'view'},
    h('section', {class: 'card', 'aria-labelledby': 'audit-title'},
      h('p', null, h('a', {href: '#audit', id: 'audit-back'}, t('audit.back'))),
      title, summary,
      h('div', {class: 'checks'}, chain, proof),
      h('div', {class: 'actions'}, recheck),
      h('h3', null, t('audit.timeline')),
      timeline));
  return {el, live: false, refresh};
}
