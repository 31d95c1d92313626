// customer.js: the customer admin's sections: the Admin module with its
// unread badge, the Updates inbox (open an offer, accept or reject it), and
// the licenses.

import {
  MESSAGE_LIMIT, allows, api, bus, busy, codePoints, field, fmtDay, fmtNumber, fmtTime, guard, h, labelCells, listAll, months, patch, statusBadge, t,
} from './core.js';
import {kindLabel, modeLabel, seatsLabel} from './catalog.js';

// customerSections lists the customer's sections in navigation order.
export function customerSections() {
  return [
    {id: 'admin', label: t('nav.admin'), extra: () => badge('admin', 'badge-admin'), mount: adminView},
    {id: 'updates', label: t('nav.updates'), extra: () => badge('updates', 'badge-updates'), mount: inboxView},
    {id: 'licenses', label: t('nav.licenses'), mount: licensesView},
  ];
}

// lastBadge is the latest unread counts, for badges drawn later.
let lastBadge = {admin: 0, updates: 0};

// badge is a red unread count. It is a polite live region, so a screen
// reader hears when a new offer arrives; at zero it is only hidden from
// sight, so that the change to zero is heard too.
function badge(kind, id) {
  const el = h('span', {class: 'badge', id, dataset: {kind}, 'aria-live': 'polite', 'aria-atomic': 'true'},
    h('span', {class: 'n'}), h('span', {class: 'sr-only'}, t('badge.unread')));
  drawBadge(el, lastBadge[kind]);
  return el;
}

function drawBadge(el, n) {
  const count = Number(n) || 0;
  el.dataset.count = String(count);
  el.querySelector('.n').textContent = fmtNumber(count);
  el.classList.toggle('zero', count === 0);
}

// setBadge shows new unread counts on every badge on the page.
function setBadge(b) {
  lastBadge = {admin: b.admin, updates: b.updates};
  for (const el of document.querySelectorAll('.badge[data-kind]')) {
    drawBadge(el, lastBadge[el.dataset.kind]);
  }
}

async function loadBadge() { setBadge(await api('GET', '/v1/inbox/badge')); }

// startBadge keeps the badges current: from the stream's badge events, and
// by asking again whenever the stream (re)connects.
export function startBadge() {
  bus.addEventListener('badge', (e) => setBadge(e.detail));
  bus.addEventListener('open', () => guard(loadBadge));
  guard(loadBadge);
}

function adminView() {
  const el = h('div', {class: 'view'},
    h('section', {class: 'card', 'aria-labelledby': 'admin-title'},
      h('h2', {id: 'admin-title'}, t('admin.title')),
      h('p', null, t('admin.intro')),
      h('div', {class: 'tiles'},
        h('a', {class: 'tile', href: '#updates', id: 'tile-updates'}, h('strong', null, t('nav.updates')), badge('updates'),
          h('span', {class: 'muted'}, t('admin.tile.updates'))),
        h('a', {class: 'tile', href: '#licenses', id: 'tile-licenses'}, h('strong', null, t('nav.licenses')),
          h('span', {class: 'muted'}, t('admin.tile.licenses'))))));
  return {el, live: true, refresh: loadBadge};
}

// inboxView is the Updates inbox, newest first, and the offer opened from it.
function inboxView() {
  const list = h('ul', {id: 'inbox', class: 'inbox', 'aria-label': t('inbox.aria')});
  const more = h('button', {type: 'button', id: 'inbox-more', hidden: true}, t('more'));
  const detail = h('section', {id: 'offer-detail', class: 'card detail', hidden: true, 'aria-labelledby': 'offer-title', tabindex: -1});
  const state = {entries: [], cursor: null, open: null};

  const renderList = () => {
    patch(list, state.entries.length === 0 ? h('li', {class: 'muted'}, t('offers.none')) : state.entries.map((e) => {
      const preview = e.message ? [...e.message].slice(0, 90).join('') : t('inbox.nomessage');
      return h('li', {dataset: {key: e.id}}, h('button', {type: 'button', class: `entry${e.read ? '' : ' unread'}`, dataset: {offerId: e.id},
        'aria-current': state.open === e.id ? 'true' : null, onclick: () => open(e.id)},
      e.read ? null : h('span', {class: 'sr-only'}, t('inbox.unread')),
      h('span', {class: 'from'}, e.reseller_name),
      statusBadge(e.status),
      h('span', {class: 'when'}, fmtTime(e.received_at)),
      h('span', {class: 'preview'}, preview)));
    }));
    more.hidden = !state.cursor;
  };

  const open = (id) => guard(async () => {
    state.open = id;
    const e = state.entries.find((x) => x.id === id);
    if (!e) return;
    renderDetail(e);
    detail.focus();
    if (!e.read) {
      await api('POST', `/v1/inbox/${encodeURIComponent(id)}/read`);
      e.read = true;
      renderList();
      await loadBadge();
    }
  });

  const renderDetail = (e) => {
    detail.hidden = false;
    detail.dataset.offerId = e.id;
    detail.dataset.status = e.status;
    detail.dataset.version = e.version ?? '';
    const decision = h('div', {class: 'decision'});
    if (allows(e, 'accept') || allows(e, 'reject')) decision.append(decideForm(e));
    else decision.append(h('p', {id: 'offer-status', tabindex: -1}, t('status.prefix'), ' ', statusBadge(e.status),
      e.decided_at ? ` (${fmtTime(e.decided_at)})` : ''));
    const licenses = h('div', {id: 'offer-licenses'});
    // replaceChildren would write a null as the text "null": the notes
    // that do not apply are left out first.
    detail.replaceChildren(...[
      h('h2', {id: 'offer-title'}, t('detail.title', {reseller: e.reseller_name})),
      h('p', {class: 'muted'}, t('detail.received', {time: fmtTime(e.received_at)}), e.expires_at ? t('detail.expires', {time: fmtTime(e.expires_at)}) : ''),
      e.supersedes ? h('p', {id: 'offer-supersedes', class: 'info'}, t('detail.supersedes', {reseller: e.reseller_name})) : null,
      e.superseded_by ? h('p', {id: 'offer-superseded', class: 'info'}, t('detail.superseded', {reseller: e.reseller_name})) : null,
      h('h3', null, t('detail.message')),
      h('p', {id: 'offer-message', class: 'message'}, e.message || h('span', {class: 'muted'}, t('detail.nomessage'))),
      h('h3', null, t('detail.items')),
      itemsTable(e.items),
      decision,
      licenses].filter(Boolean));
    labelCells(detail);
    if (e.status === 'accepted') showLicenses(e.id, licenses);
  };

  const decideForm = (e) => {
    const accept = h('button', {type: 'button', id: 'accept', class: 'confirm'}, t('accept'));
    const reason = h('textarea', {id: 'reject-reason', rows: 3, 'aria-describedby': 'reject-reason-count'});
    const counter = h('p', {id: 'reject-reason-count', class: 'counter', 'aria-live': 'polite'});
    const reject = h('button', {type: 'button', id: 'reject', class: 'danger'}, t('reject'));
    const count = () => {
      const n = codePoints(reason.value);
      counter.textContent = t('counter', {n: fmtNumber(n), max: fmtNumber(MESSAGE_LIMIT)});
      counter.classList.toggle('over', n > MESSAGE_LIMIT);
      reject.disabled = n > MESSAGE_LIMIT;
    };
    reason.addEventListener('input', count);
    count();
    // After a decision the buttons are gone: focus moves to their
    // successor, the status that says what was decided.
    const decided = async (offer) => {
      e.status = offer.status;
      e.decided_at = offer.decided_at;
      e.version = offer.version;
      e.allowed_actions = offer.allowed_actions;
      renderList();
      renderDetail(e);
      const status = document.getElementById('offer-status');
      if (status) status.focus();
    };
    accept.addEventListener('click', () => busy(accept, async () => {
      await decided(await api('POST', `/v1/inbox/${encodeURIComponent(e.id)}/accept`));
    }));
    reject.addEventListener('click', () => busy(reject, async () => {
      await decided(await api('POST', `/v1/inbox/${encodeURIComponent(e.id)}/reject`, {body: {reason: reason.value}}));
    }));
    return h('div', null,
      h('p', null, t('status.prefix'), ' ', statusBadge(e.status)),
      allows(e, 'accept') ? [grantPreview(e.items), h('div', {class: 'actions'}, accept)] : null,
      allows(e, 'reject') ? h('div', {class: 'reject'}, field(t('reject.reason'), reason, counter), h('div', {class: 'actions'}, reject)) : null);
  };

  const refresh = async () => {
    const page = await api('GET', '/v1/inbox?limit=50');
    state.entries = page.items;
    state.cursor = page.next_cursor;
    renderList();
    const e = state.open && state.entries.find((x) => x.id === state.open);
    // Redraw an open offer only when its status moved, so that a reason
    // being typed is not lost to an unrelated update; and never with an
    // older version than shown (a page asked for before this admin's own
    // decision may arrive after it). Focus inside stays inside.
    const shown = Number(detail.dataset.version);
    if (e && detail.dataset.status !== e.status && !(shown > e.version)) {
      const focused = detail.contains(document.activeElement);
      renderDetail(e);
      if (focused) (document.getElementById('offer-status') || detail).focus();
    }
  };
  more.addEventListener('click', () => busy(more, async () => {
    const page = await api('GET', `/v1/inbox?limit=50&cursor=${encodeURIComponent(state.cursor)}`);
    const have = new Set(state.entries.map((x) => x.id));
    state.entries.push(...page.items.filter((x) => !have.has(x.id)));
    state.cursor = page.next_cursor;
    renderList();
  }));

  const el = h('div', {class: 'view split'},
    h('section', {class: 'card', 'aria-labelledby': 'updates-title'}, h('h2', {id: 'updates-title'}, t('inbox.title')), list, more),
    detail);
  return {el, live: true, refresh};
}


// grantPreview says what accepting now would grant: each license with the
// date it would be valid until (the term from today, as the grant counts
// it), or per learner for a relative one.
function grantPreview(items) {
  const now = new Date();
  return h('div', {id: 'grant-preview', class: 'grant'},
    h('h3', null, t('grant.title')),
    h('ul', null, items.map((it) => h('li', null, it.license_mode === 'relative'
      ? t('grant.perlearner', {product: it.product_name})
      : t('grant.until', {product: it.product_name, date: fmtDay(addMonths(now, it.term_months).toISOString())})))));
}

// addMonths is domain.AddMonths: n calendar months later (UTC), a day the
// target month lacks becoming its last day.
function addMonths(d, n) {
  const first = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  return new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), Math.min(d.getUTCDate(), last),
    d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()));
}

function itemsTable(items) {
  return h('table', {class: 'items'},
    h('thead', null, h('tr', null, ['col.product', 'col.kind', 'col.term', 'col.mode', 'col.seats'].map((c) => h('th', {scope: 'col'}, t(c))))),
    h('tbody', null, items.map((it) => h('tr', null,
      h('td', null, it.product_name),
      h('td', null, kindLabel(it.kind)),
      h('td', null, months(it.term_months)),
      h('td', null, modeLabel(it.license_mode)),
      h('td', null, seatsLabel(it.seats))))));
}

// showLicenses lists the licenses an accepted offer granted. The grant is
// the work of a background process that follows the acceptance, so the
// list is asked for again for a while until they are there.
async function showLicenses(offerID, box) {
  box.replaceChildren(h('h3', null, t('licenses.granted')), h('p', {class: 'muted', role: 'status'}, t('licenses.granting')));
  for (let i = 0; i < 30 && box.isConnected; i += 1) {
    const mine = await guard(async () => (await listAll('/v1/licenses')).filter((l) => l.offer_id === offerID));
    if (mine === undefined) return;
    if (mine.length > 0) {
      patch(box, h('h3', null, t('licenses.granted')), licenseTable(mine, 'offer-license-list'));
      return;
    }
    await new Promise((r) => { setTimeout(r, 500); });
  }
  if (box.isConnected) {
    box.replaceChildren(h('h3', null, t('licenses.granted')), h('p', {class: 'muted'}, t('licenses.later')));
  }
}

function licenseTable(licenses, id) {
  return h('table', {id, class: 'licenses'},
    h('thead', null, h('tr', null, ['col.product', 'col.kind', 'col.term', 'col.mode', 'col.seats', 'col.granted', 'col.validuntil']
      .map((c) => h('th', {scope: 'col'}, t(c))))),
    h('tbody', null, licenses.map((l) => h('tr', {dataset: {key: `${l.offer_id}/${l.item_id}`, offerId: l.offer_id, itemId: l.item_id}},
      h('td', null, l.product_name),
      h('td', null, kindLabel(l.kind)),
      h('td', null, months(l.term_months)),
      h('td', null, modeLabel(l.license_mode)),
      h('td', null, seatsLabel(l.seats)),
      h('td', null, fmtDay(l.granted_at)),
      h('td', null, l.valid_until ? fmtDay(l.valid_until) : t('licenses.perlearner'))))));
}

function licensesView() {
  const box = h('div', {id: 'licenses-box'});
  const el = h('div', {class: 'view'},
    h('section', {class: 'card', 'aria-labelledby': 'licenses-title'}, h('h2', {id: 'licenses-title'}, t('licenses.title')), box));
  const refresh = async () => {
    const licenses = await listAll('/v1/licenses');
    patch(box, licenses.length === 0 ? h('p', {class: 'muted'}, t('licenses.none'))
      : licenseTable(licenses, 'licenses'));
  };
  return {el, live: true, refresh};
}
