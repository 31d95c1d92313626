// campaign.js: the reseller's campaigns (one template to many customers,
// chosen with checkboxes, with the counts of each campaign's offers, live)
// and the dashboard (charts drawn by the server as SVG images, beside the
// same figures as text).

import {ApiError, STATUSES, api, busy, field, fmtNumber, fmtTime, h, listAll, newKey, patch, statusBadge, t} from './core.js';

// campaignSections lists the reseller's campaign and dashboard sections.
export function campaignSections() {
  return [
    {id: 'campaigns', label: t('nav.campaigns'), mount: campaignsView},
    {id: 'dashboard', label: t('nav.dashboard'), mount: dashboardView},
  ];
}

function campaignsView() {
  const templateSel = h('select', {id: 'campaign-template', name: 'template', required: true});
  const message = h('textarea', {id: 'campaign-message', name: 'message', rows: 3});
  const all = h('input', {type: 'checkbox', id: 'campaign-all'});
  const picks = h('div', {id: 'campaign-customers', class: 'picks'});
  const selected = h('p', {id: 'campaign-selected', class: 'muted', 'aria-live': 'polite'});
  const send = h('button', {type: 'submit', id: 'campaign-send', class: 'confirm'}, t('campaigns.send'));
  const sent = h('p', {id: 'campaign-sent', role: 'status', class: 'ok'});
  const body = h('tbody');
  const view = {live: true};
  let key = newKey();
  const boxes = () => [...picks.querySelectorAll('input[type=checkbox]')];
  const chosen = () => boxes().filter((b) => b.checked).map((b) => b.value);
  const count = () => { selected.textContent = t('campaigns.selected', {n: fmtNumber(chosen().length)}); key = newKey(); };
  all.addEventListener('change', () => { for (const b of boxes()) b.checked = all.checked; count(); });
  picks.addEventListener('change', count);
  templateSel.addEventListener('input', () => { key = newKey(); });
  message.addEventListener('input', () => { key = newKey(); });

  const form = h('form', {id: 'campaign-form', class: 'card', novalidate: true},
    h('h2', null, t('campaigns.title')),
    field(t('campaigns.template'), templateSel),
    h('fieldset', {class: 'picks-box'}, h('legend', null, t('campaigns.customers')),
      h('label', {class: 'pick'}, all, ` ${t('campaigns.all')}`), picks, selected),
    field(t('campaigns.message'), message),
    h('div', {class: 'actions'}, send),
    sent);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    sent.textContent = '';
    busy(send, async () => {
      const ids = chosen();
      if (!templateSel.value || ids.length === 0) {
        throw new ApiError(0, {title: t('form.incomplete'), detail: t('campaigns.incomplete')});
      }
      const c = await api('POST', '/v1/campaigns', {body: {template_id: templateSel.value, customer_ids: ids, message: message.value},
        idempotencyKey: key});
      sent.textContent = t('campaigns.sent', {n: fmtNumber(c.offers.length)});
      for (const b of boxes()) b.checked = false;
      all.checked = false;
      message.value = '';
      count();
      await view.refresh();
    });
  });

  view.el = h('div', {class: 'view'}, form,
    h('section', {class: 'card', 'aria-labelledby': 'campaigns-title'},
      h('h2', {id: 'campaigns-title'}, t('campaigns.list')),
      h('table', {id: 'campaigns'},
        h('thead', null, h('tr', null, ['campaigns.col.created', 'campaigns.template', 'campaigns.col.offers', 'campaigns.col.counts']
          .map((c) => h('th', {scope: 'col', class: c === 'campaigns.col.offers' ? 'num' : null}, t(c))))),
        body)));
  let names = new Map();
  let filled = false;
  view.refresh = async () => {
    if (!filled) {
      const [templates, customers] = await Promise.all([listAll('/v1/templates'), listAll('/v1/customers')]);
      names = new Map(templates.map((tp) => [tp.id, tp.name]));
      patch(templateSel, h('option', {value: ''}, t('offers.choose.template')),
        templates.filter((tp) => tp.items.length > 0).map((tp) => h('option', {value: tp.id}, tp.name)));
      // An erased customer has no name and can receive no offers (422).
      patch(picks, customers.filter((c) => !c.erased).map((c) => h('label', {class: 'pick', dataset: {key: c.id}},
        h('input', {type: 'checkbox', name: 'customer', value: c.id, 'data-customer-id': c.id}), ` ${c.name}`)));
      filled = true;
      count();
    }
    const page = await api('GET', '/v1/campaigns?limit=20');
    patch(body, page.items.length === 0 ? h('tr', null, h('td', {colspan: 4, class: 'muted'}, t('campaigns.none')))
      : page.items.map((c) => h('tr', {dataset: {key: c.id, campaignId: c.id}},
        h('td', null, fmtTime(c.created_at)),
        h('td', null, names.get(c.template_id) || c.template_id),
        h('td', {class: 'num'}, fmtNumber(c.offer_count)),
        h('td', {class: 'counts'}, STATUSES.filter((st) => (c.counts || {})[st] > 0)
          .map((st) => h('span', {class: 'count', dataset: {status: st}}, statusBadge(st), ` ${fmtNumber(c.counts[st])}`))))));
  };
  return view;
}

// CHARTS are the dashboard's charts, drawn by GET /v1/reports/offers/charts/NAME.
const CHARTS = ['statuses', 'acceptance', 'decision', 'reasons'];

function dashboardView() {
  const lang = document.documentElement.lang === 'de' ? 'de' : 'en';
  const charts = h('div', {class: 'charts'});
  const body = h('tbody');
  const view = {live: true};
  const pct = (r) => (r === null || r === undefined ? '—' : t('dashboard.percent', {n: fmtNumber(Math.round(r * 100))}));
  const hours = (x) => (x === null || x === undefined ? '—'
    : t('dashboard.hours', {n: new Intl.NumberFormat(lang, {minimumFractionDigits: 1, maximumFractionDigits: 1}).format(x)}));
  view.el = h('div', {class: 'view'},
    h('section', {class: 'card', 'aria-labelledby': 'dashboard-title'}, h('h2', {id: 'dashboard-title'}, t('dashboard.title')), charts),
    h('section', {class: 'card', 'aria-labelledby': 'dashboard-figures'},
      h('h2', {id: 'dashboard-figures'}, t('dashboard.figures')),
      h('table', {id: 'dashboard-table'},
        h('thead', null, h('tr', null, ['dashboard.col.template', 'dashboard.col.offers', 'dashboard.col.rate', 'dashboard.col.median']
          .map((c) => h('th', {scope: 'col', class: c === 'dashboard.col.template' ? null : 'num'}, t(c))))),
        body)));
  view.refresh = async () => {
    const report = await api('GET', '/v1/reports/offers?group_by=template');
    // A new query string makes the browser fetch the images again.
    const v = Date.now();
    // Each chart says what it shows above it (the bars alone did not).
    patch(charts, CHARTS.map((c) => h('figure', {class: 'chart', dataset: {key: c}},
      h('figcaption', {id: `chart-${c}-title`}, t(`dashboard.chart.${c}`)),
      h('img', {src: `/v1/reports/offers/charts/${c}?lang=${lang}&v=${v}`, alt: t(`dashboard.chart.${c}`), id: `chart-${c}`, width: 360}))));
    patch(body, report.items.length === 0 ? h('tr', null, h('td', {colspan: 4, class: 'muted'}, t('dashboard.none')))
      : report.items.map((g) => h('tr', {dataset: {key: g.key, templateId: g.key}},
        h('td', null, g.name),
        h('td', {class: 'num'}, fmtNumber(Object.values(g.counts).reduce((a, b) => a + b, 0))),
        h('td', {class: 'num rate'}, pct(g.acceptance_rate)),
        h('td', {class: 'num median'}, hours(g.median_hours_to_decision)))));
  };
  return view;
}
