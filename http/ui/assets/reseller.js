// reseller.js: the reseller's sections: offers (with the form that sends
// one) and customers. Templates and the catalog live in catalog.js.

import {
  ApiError, MESSAGE_LIMIT, STATUSES, allows, api, busy, codePoints, field, fmtNumber, fmtTime, guard, h, listAll, newKey, nextPage, patch, statusBadge,
  statusLabel, t,
} from './core.js';
import {productsSection, templatesSection} from './catalog.js';
import {campaignSections} from './campaign.js';

// resellerSections lists the reseller's sections in navigation order.
export function resellerSections() {
  return [
    {id: 'offers', label: t('nav.offers'), mount: offersView},
    {id: 'customers', label: t('nav.customers'), mount: (id) => (id ? offersView(id) : customersView())},
    ...campaignSections(),
    templatesSection(),
    productsSection(),
  ];
}

// offersView is the form that sends an offer and the list of offers; with
// customerID it is that customer instance's page (the help article's offer
// view): the send view for that customer beside its offers, live.
function offersView(customerID) {
  const customerSel = h('select', {id: 'offer-customer', name: 'customer', required: true});
  const templateSel = h('select', {id: 'offer-template', name: 'template', required: true});
  const message = h('textarea', {id: 'offer-message', name: 'message', rows: 5, 'aria-describedby': 'offer-message-count'});
  const counter = h('p', {id: 'offer-message-count', class: 'counter', 'aria-live': 'polite'});
  // The API takes an expiry in the future and at most 365 days ahead; the
  // chosen day ends at midnight in the browser's time zone.
  const last = new Date();
  last.setDate(last.getDate() + 364);
  const expires = h('input', {id: 'offer-expires', name: 'expires', type: 'date', min: isoDay(new Date()), max: isoDay(last)});
  const send = h('button', {type: 'submit', id: 'offer-send', class: 'confirm'}, t('offers.send'));
  const cancel = h('button', {type: 'button', id: 'offer-revise-cancel', hidden: true}, t('offers.revise.cancel'));
  const sent = h('p', {id: 'offer-sent', role: 'status', class: 'ok'});
  const heading = h('h2', {id: 'customer-title'}, customerID);
  // revising is the offer the form revises (the Revise button of its row),
  // null while the form sends a new one.
  let revising = null;
  const reviseNote = h('div', {id: 'offer-revising', class: 'info', hidden: true});
  let key = newKey();
  // lastSent is the offer this form sent last; the line under the form
  // follows its status as the list learns of it.
  let lastSent = null;
  const customer = () => customerID || customerSel.value;

  const count = () => {
    const n = codePoints(message.value);
    const over = n - MESSAGE_LIMIT;
    const vars = {n: fmtNumber(n), max: fmtNumber(MESSAGE_LIMIT), over: fmtNumber(over)};
    counter.textContent = over > 0 ? t('counter.over', vars) : t('counter', vars);
    counter.classList.toggle('over', over > 0);
    send.disabled = over > 0;
  };
  message.addEventListener('input', count);
  // A changed form is another request: it gets its own Idempotency-Key.
  for (const c of [customerSel, templateSel, message, expires]) c.addEventListener('input', () => { key = newKey(); });
  count();

  const form = h('form', {id: 'offer-form', class: 'card', novalidate: true},
    customerID ? h('p', null, h('a', {href: '#customers', id: 'customer-back'}, t('customer.back'))) : null,
    customerID ? heading : h('h2', null, t('offers.form.title')),
    h('div', {class: 'row'}, customerID ? null : field(t('offers.customer'), customerSel), field(t('offers.template'), templateSel)),
    field(t('offers.message'), message, counter),
    field(t('offers.expires'), expires),
    reviseNote,
    h('div', {class: 'actions'}, send, cancel),
    sent);

  // revise fills the form with offer o, whose fields the reseller changes;
  // saving sends the revision, which replaces o for the customer.
  const revise = (o) => {
    revising = o;
    const who = list.names.get(o.customer_id) || o.customer_name || o.customer_id;
    if (!customerID) customerSel.value = o.customer_id;
    customerSel.disabled = true;
    templateSel.value = [...templateSel.options].some((op) => op.value === o.template_id) ? o.template_id : '';
    message.value = o.message;
    expires.value = o.expires_at ? isoDay(new Date(o.expires_at)) : '';
    patch(reviseNote, h('strong', null, t('offers.revise.title', {who})), h('p', null, t('offers.revise.intro')));
    reviseNote.hidden = false;
    send.textContent = t('offers.revise.save');
    cancel.hidden = false;
    sent.textContent = '';
    key = newKey();
    count();
    message.focus();
  };
  const endRevise = () => {
    revising = null;
    customerSel.disabled = false;
    reviseNote.hidden = true;
    send.textContent = t('offers.send');
    cancel.hidden = true;
    message.value = '';
    expires.value = '';
    key = newKey();
    count();
  };
  cancel.addEventListener('click', endRevise);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    sent.textContent = '';
    busy(send, async () => {
      if (revising) {
        // Only what the reseller changed is sent: an unchanged template
        // keeps the offer's items as they were sent.
        const o = revising;
        const body = {message: message.value};
        if (templateSel.value && templateSel.value !== o.template_id) body.template_id = templateSel.value;
        if (expires.value) body.expires_at = new Date(`${expires.value}T23:59:59`).toISOString();
        const next = await api('POST', `/v1/offers/${encodeURIComponent(o.id)}/revise`, {body, idempotencyKey: key});
        lastSent = {id: next.id, who: list.names.get(o.customer_id) || o.customer_id, revised: true};
        sent.textContent = t('offers.revised', {who: lastSent.who, status: statusLabel(next.status)});
        endRevise();
        list.upsert(next);
        await list.refresh();
        return;
      }
      if (!customer() || !templateSel.value) {
        throw new ApiError(0, {title: t('form.incomplete'), detail: t('offers.incomplete')});
      }
      const body = {template_id: templateSel.value, message: message.value};
      if (expires.value) body.expires_at = new Date(`${expires.value}T23:59:59`).toISOString();
      const offer = await api('POST', `/v1/customers/${encodeURIComponent(customer())}/offers`, {body, idempotencyKey: key});
      lastSent = {id: offer.id, who: list.names.get(customer()) || customer()};
      sent.textContent = t('offers.sent', {who: lastSent.who, status: statusLabel(offer.status)});
      message.value = '';
      expires.value = '';
      key = newKey();
      count();
      list.upsert(offer);
      await list.refresh();
    }).finally(count);
  });

  const list = offerList(customerID);
  list.onRender = (offers) => {
    const o = lastSent && offers.find((x) => x.id === lastSent.id);
    if (o) sent.textContent = t(lastSent.revised ? 'offers.revised' : 'offers.sent', {who: lastSent.who, status: statusLabel(o.status)});
  };
  list.onRevise = revise;
  const el = h('div', {class: customerID ? 'view split instance' : 'view'}, form, list.el);
  return {
    el,
    live: true,
    async refresh() {
      const [customers, templates] = await Promise.all([listAll('/v1/customers'), listAll('/v1/templates')]);
      list.names = new Map(customers.map((c) => [c.id, customerName(c)]));
      if (customerID) heading.textContent = list.names.get(customerID) || customerID;
      // An erased customer can receive no offers (422).
      fillSelect(customerSel, customers.filter((c) => !c.erased), customerName, t('offers.choose.customer'));
      fillSelect(templateSel, templates,
        (tp) => t(tp.items.length === 1 ? 'template.option.one' : 'template.option.other', {name: tp.name, n: fmtNumber(tp.items.length)}),
        t('offers.choose.template'));
      await list.refresh();
    },
  };
}

// isoDay is the local date of d as a date input's value (YYYY-MM-DD).
function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

// fillSelect replaces a select's options, keeping the chosen one if it is
// still there.
function fillSelect(sel, items, label, placeholder) {
  const keep = sel.value;
  patch(sel, h('option', {value: ''}, placeholder), ...items.map((it) => h('option', {value: it.id}, label(it))));
  if (items.some((it) => it.id === keep)) sel.value = keep;
}

// offerList is the reseller's offers, newest first, with a status filter,
// paging, and the withdraw, redeliver and revise buttons.
function offerList(customerID) {
  const filter = h('select', {id: 'offers-filter'},
    h('option', {value: ''}, t('offers.filter.all')),
    STATUSES.map((v) => h('option', {value: v}, statusLabel(v))));
  const body = h('tbody');
  const more = h('button', {type: 'button', id: 'offers-more', hidden: true}, t('more'));
  const state = {offers: [], cursor: null};
  const self = {names: new Map()};

  const row = (o) => {
    const who = o.customer_name || self.names.get(o.customer_id) || o.customer_id;
    const actions = h('td', {class: 'actions'});
    // After withdraw or deliver again the row's buttons change: focus goes
    // to the row's status, which says what happened.
    const status = () => body.querySelector(`tr[data-key="${CSS.escape(o.id)}"] .status`);
    if (allows(o, 'withdraw')) {
      actions.append(h('button', {type: 'button', class: 'danger', 'aria-label': t('offers.withdraw.aria', {who}),
        onclick: (ev) => {
          if (!window.confirm(t('offers.withdraw.confirm', {who}))) return;
          busy(ev.currentTarget, async () => {
            self.upsert(await api('POST', `/v1/offers/${encodeURIComponent(o.id)}/withdraw`, {ifMatch: o.version}));
            await self.refresh();
          }, status);
        }}, t('offers.withdraw')));
    }
    if (allows(o, 'redeliver')) {
      actions.append(h('button', {type: 'button', 'aria-label': t('offers.redeliver.aria', {who}),
        onclick: (ev) => busy(ev.currentTarget, async () => {
          self.upsert(await api('POST', `/v1/offers/${encodeURIComponent(o.id)}/redeliver`, {ifMatch: o.version}));
          await self.refresh();
        }, status)}, t('offers.redeliver')));
    }
    if (allows(o, 'revise') && self.onRevise) {
      actions.append(h('button', {type: 'button', class: 'revise', 'aria-label': t('offers.revise.aria', {who}),
        onclick: () => self.onRevise(o)}, t('offers.revise')));
    }
    const items = o.items.map((it) => t('offers.item', {product: it.product_name, months: fmtNumber(it.term_months)})).join(', ');
    return h('tr', {dataset: {key: o.id, offerId: o.id}},
      customerID ? null : h('td', null, who),
      h('td', null, items),
      h('td', {class: 'message-cell'}, o.message || h('span', {class: 'muted'}, t('offers.nomessage'))),
      h('td', null, Object.assign(statusBadge(o.status), {tabIndex: -1}), o.delivery_error ? h('div', {class: 'muted small'}, o.delivery_error) : null,
        o.rejection_reason ? h('div', {class: 'muted small'}, t('offers.reason', {reason: o.rejection_reason})) : null,
        o.supersedes ? h('div', {class: 'muted small supersedes'}, t('offers.supersedes')) : null),
      h('td', null, fmtTime(o.created_at),
        o.expires_at ? h('div', {class: 'muted small expires'}, t('offers.expires.at', {time: fmtTime(o.expires_at)})) : null,
        o.opened_at ? h('div', {class: 'muted small opened'}, o.opened_by ? t('offers.opened.by', {time: fmtTime(o.opened_at), name: o.opened_by})
          : t('offers.opened', {time: fmtTime(o.opened_at)})) : null,
        o.decided_at ? h('div', {class: 'muted small decided'}, o.decided_by ? t('offers.decided.by', {time: fmtTime(o.decided_at), name: o.decided_by})
          : t('offers.decided', {time: fmtTime(o.decided_at)})) : null,
        o.reminded_at ? h('div', {class: 'muted small reminded'}, t('offers.reminded', {time: fmtTime(o.reminded_at)})) : null),
      actions);
  };
  const render = () => {
    patch(body, state.offers.length === 0 ? h('tr', null, h('td', {colspan: customerID ? 5 : 6, class: 'muted'}, t('offers.none')))
      : state.offers.map(row));
    more.hidden = !state.cursor;
    if (self.onRender) self.onRender(state.offers);
  };
  const query = (cursor) => {
    const p = new URLSearchParams({limit: '50'});
    if (filter.value) p.set('status', filter.value);
    if (customerID) p.set('customer_id', customerID);
    if (cursor) p.set('cursor', cursor);
    return `/v1/offers?${p}`;
  };

  // upsert shows an offer the server just returned, before the list is
  // fetched again.
  self.upsert = (o) => {
    const i = state.offers.findIndex((x) => x.id === o.id);
    if (i >= 0) state.offers[i] = o;
    else if (!filter.value || filter.value === o.status) state.offers.unshift(o);
    render();
  };
  self.refresh = async () => {
    const page = await api('GET', query(null));
    state.offers = page.items;
    state.cursor = page.next_cursor;
    render();
  };
  filter.addEventListener('change', () => guard(self.refresh));
  more.addEventListener('click', () => busy(more, async () => {
    const next = await nextPage(query(state.cursor), state.offers);
    state.offers.push(...next.items);
    state.cursor = next.cursor;
    render();
  }));
  self.el = h('section', {class: 'card', 'aria-labelledby': 'offers-title'},
    h('div', {class: 'row spread'}, h('h2', {id: 'offers-title'}, t('offers.title')), field(t('offers.show'), filter)),
    h('table', {id: 'offers'},
      h('thead', null, h('tr', null, [customerID ? null : 'col.customer', 'col.items', 'col.message', 'col.status', 'col.sent']
        .filter(Boolean).map((c) => h('th', {scope: 'col'}, t(c))),
        h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, t('col.actions'))))),
      body),
    more);
  return self;
}

// customersView lists the customers with their offer counts, and adds one.
function customersView() {
  const name = h('input', {id: 'customer-name', name: 'name', required: true, maxlength: 200});
  const ref = h('input', {id: 'customer-ref', name: 'external_ref'});
  const add = h('button', {type: 'submit', id: 'customer-add'}, t('customers.add'));
  const body = h('tbody');
  const view = {live: true};
  const form = h('form', {class: 'card', id: 'customer-form'},
    h('h2', null, t('customers.add.title')),
    h('div', {class: 'row'}, field(t('customers.name'), name), field(t('customers.ref'), ref)),
    h('div', {class: 'actions'}, add));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(add, async () => {
      const b = {name: name.value};
      if (ref.value.trim()) b.external_ref = ref.value.trim();
      await api('POST', '/v1/customers', {body: b, idempotencyKey: newKey()});
      form.reset();
      await view.refresh();
    });
  });
  view.el = h('div', {class: 'view'},
    h('section', {class: 'card', 'aria-labelledby': 'customers-title'},
      h('h2', {id: 'customers-title'}, t('customers.title')),
      h('table', {id: 'customers'},
        h('thead', null, h('tr', null, ['col.name', 'col.reference', 'col.offers', 'col.total']
          .map((c) => h('th', {scope: 'col', class: c === 'col.total' ? 'num' : null}, t(c))))),
        body)),
    form);
  view.refresh = async () => {
    const customers = await listAll('/v1/customers');
    patch(body, customers.length === 0 ? h('tr', null, h('td', {colspan: 4, class: 'muted'}, t('customers.none'))) : customers.map((c) => {
      const counts = Object.entries(c.offer_counts || {}).filter(([, n]) => n > 0);
      const total = counts.reduce((sum, [, n]) => sum + n, 0);
      return h('tr', {dataset: {key: c.id, customerId: c.id}},
        h('td', null, h('a', {href: `#customers/${encodeURIComponent(c.id)}`, class: 'customer-link'}, customerName(c))),
        h('td', null, c.external_ref || ''),
        h('td', {class: 'counts'}, counts.length === 0 ? h('span', {class: 'muted'}, t('customers.counts.none'))
          : counts.map(([st, n]) => h('span', {class: 'count', dataset: {status: st}}, statusBadge(st), ` ${fmtNumber(n)}`))),
        h('td', {class: 'num'}, fmtNumber(total)));
    }));
  };
  return view;
}

// customerName is what the UI calls a customer: its name, or a mark once
// it was erased (the API then answers name null with erased: true).
function customerName(c) {
  return c.erased ? t('customer.erased') : c.name;
}
