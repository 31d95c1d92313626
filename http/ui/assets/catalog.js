// catalog.js: the reseller's offer templates (items, the green/red license
// mode toggle, adding items from the catalog) and the product catalog.

import {ApiError, api, busy, debounce, field, fmtNumber, guard, h, listAll, months, newKey, patch, t, uniqueId} from './core.js';

const OTHER_MODE = {absolute: 'relative', relative: 'absolute'};

// kindLabel, modeLabel and seatsLabel write a product kind, a license mode
// and a seat count in the page's language.
export function kindLabel(kind) { return kind === 'module' || kind === 'course' ? t(`kind.${kind}`) : kind; }
export function modeLabel(mode) { return mode === 'absolute' || mode === 'relative' ? t(`mode.${mode}`) : mode; }
export function seatsLabel(seats) { return seats === null || seats === undefined ? t('seats.nolimit') : fmtNumber(seats); }

// templatesSection is the templates section of the reseller's navigation.
export function templatesSection() { return {id: 'templates', label: t('nav.templates'), mount: templatesView}; }

// productsSection is the catalog section of the reseller's navigation.
export function productsSection() { return {id: 'products', label: t('nav.products'), mount: productsView}; }

function templatesView() {
  const name = h('input', {id: 'template-name', name: 'name', required: true});
  const create = h('button', {type: 'submit', id: 'template-create'}, t('templates.create'));
  const list = h('div', {id: 'templates'});
  const done = h('p', {id: 'template-created', role: 'status', class: 'ok'});
  const view = {};
  // The plus button at the top opens the form that creates a template.
  const form = h('form', {class: 'card', id: 'template-form', hidden: true},
    h('h2', null, t('templates.new.title')),
    h('div', {class: 'row'}, field(t('customers.name'), name), h('div', {class: 'actions'}, create)));
  const plus = h('button', {type: 'button', id: 'template-plus', class: 'primary plus', 'aria-expanded': 'false',
    'aria-controls': 'template-form'}, t('templates.plus'));
  plus.addEventListener('click', () => {
    form.hidden = !form.hidden;
    plus.setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden) name.focus();
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    done.textContent = '';
    busy(create, async () => {
      const created = await api('POST', '/v1/templates', {body: {name: name.value}, idempotencyKey: newKey()});
      form.reset();
      form.hidden = true;
      plus.setAttribute('aria-expanded', 'false');
      await view.refresh();
      // Wherever the new template lands in the list, the page says so and
      // takes the person there.
      done.textContent = t('templates.created', {name: created.name});
      const title = list.querySelector(`section.template[data-template-id="${CSS.escape(created.id)}"] h2`);
      if (title) {
        title.scrollIntoView({block: 'center'});
        title.focus();
      }
    });
  });
  view.el = h('div', {class: 'view'},
    h('div', {class: 'row spread'}, h('h2', null, t('nav.templates')), plus),
    form, done,
    h('p', {id: 'mode-legend', class: 'legend'},
      t('templates.legend.prefix'), h('span', {class: 'mode mode-absolute'}, t('mode.absolute')),
      t('templates.legend.absolute'),
      h('span', {class: 'mode mode-relative'}, t('mode.relative')),
      t('templates.legend.relative')),
    list);
  view.refresh = async () => {
    const [templates, products] = await Promise.all([listAll('/v1/templates'), listAll('/v1/products')]);
    // A card is kept while its template is unchanged: its closures own it
    // (and what is typed in its add form), so it is never redrawn in place.
    const cards = new Map([...list.children].map((c) => [c.dataset.key, c]));
    const next = templates.length === 0 ? [h('p', {class: 'card muted'}, t('templates.none'))] : templates.map((tp) => {
      const have = cards.get(tp.id);
      if (have && have.dataset.version === String(tp.version)) return have;
      return templateCard(tp, products, view.refresh);
    });
    // A kept card is moved only when it is out of place: moving a node
    // takes the focus out of it.
    const keep = new Set(next);
    for (const c of [...list.children]) if (!keep.has(c)) c.remove();
    next.forEach((c, i) => {
      if (list.children[i] !== c) list.insertBefore(c, list.children[i] || null);
    });
  };
  return view;
}

// templateCard shows one template: its items with their mode toggles, and
// the form that adds an item. It redraws its table from each answer.
function templateCard(first, products, reload) {
  let tpl = first;
  const titleID = uniqueId('tpl');
  const body = h('tbody');
  const card = h('section', {class: 'card template', dataset: {key: tpl.id, version: String(tpl.version), templateId: tpl.id},
    'aria-labelledby': titleID});
  const path = () => `/v1/templates/${encodeURIComponent(tpl.id)}`;

  // change runs a command on the template and shows the template it
  // answers; after a version conflict it shows the current one.
  const change = (button, fn) => busy(button, async () => {
    try {
      tpl = await fn();
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'version_conflict') tpl = await api('GET', path());
      throw err;
    } finally {
      render();
    }
  });

  const itemRow = (it) => {
    const mode = h('button', {type: 'button', class: `mode mode-${it.license_mode}`, dataset: {mode: it.license_mode},
      title: t('mode.switch', {mode: modeLabel(OTHER_MODE[it.license_mode])}), 'aria-describedby': 'mode-legend',
      onclick: (ev) => change(ev.currentTarget, () => api('PATCH', `${path()}/items/${encodeURIComponent(it.id)}`,
        {body: {license_mode: OTHER_MODE[it.license_mode]}, ifMatch: tpl.version}))},
    modeLabel(it.license_mode));
    const remove = h('button', {type: 'button', class: 'link', 'aria-label': t('item.remove.aria', {product: it.product_name, template: tpl.name}),
      onclick: (ev) => change(ev.currentTarget, () => api('DELETE', `${path()}/items/${encodeURIComponent(it.id)}`, {ifMatch: tpl.version}))},
    t('item.remove'));
    return h('tr', {dataset: {key: it.id, itemId: it.id}},
      h('td', null, it.product_name),
      h('td', null, kindLabel(it.kind)),
      h('td', null, months(it.term_months)),
      h('td', null, seatsLabel(it.seats)),
      h('td', null, mode),
      h('td', null, remove));
  };
  const render = () => {
    card.dataset.version = String(tpl.version);
    patch(body, tpl.items.length === 0 ? h('tr', null, h('td', {colspan: 6, class: 'muted'}, t('items.none'))) : tpl.items.map(itemRow));
  };

  const archive = h('button', {type: 'button', class: 'link danger', 'aria-label': t('template.archive.aria', {name: tpl.name}),
    onclick: (ev) => {
      if (!window.confirm(t('template.archive.confirm', {name: tpl.name}))) return;
      // The card goes: focus goes to the template that followed it, or
      // else to the plus button.
      const after = card.nextElementSibling && card.nextElementSibling.dataset.templateId;
      const successor = () => (after && document.querySelector(`section.template[data-template-id="${CSS.escape(after)}"] h2`))
        || document.getElementById('template-plus');
      busy(ev.currentTarget, async () => {
        await api('DELETE', path(), {ifMatch: tpl.version});
        await reload();
      }, successor);
    }}, t('template.archive'));
  card.append(
    h('div', {class: 'row spread'}, h('h2', {id: titleID, tabindex: -1}, tpl.name), archive),
    h('table', {class: 'items'},
      h('thead', null, h('tr', null, ['col.product', 'col.kind', 'col.term', 'col.seats', 'col.mode'].map((c) => h('th', {scope: 'col'}, t(c))),
        h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, t('col.actions'))))),
      body),
    addItemForm(products, (b) => change(b.button, () => api('POST', `${path()}/items`, {body: b.body, idempotencyKey: newKey()}))));
  render();
  return card;
}

// addItemForm picks a product from the catalog and one of its terms. The
// picker is searchable: typing in the search field narrows the list of
// products (scroll it to browse).
function addItemForm(products, submit) {
  const search = h('input', {type: 'search', name: 'product-search', class: 'item-search', autocomplete: 'off'});
  const product = h('select', {name: 'product', class: 'item-product', required: true, size: Math.min(6, products.length + 1)});
  const fillProducts = () => {
    const q = search.value.trim().toLocaleLowerCase();
    const shown = q ? products.filter((p) => p.name.toLocaleLowerCase().includes(q)) : products;
    patch(product, h('option', {value: ''}, shown.length === 0 ? t('products.nomatch') : t('item.choose')),
      shown.map((p) => h('option', {value: p.id, dataset: {key: p.id}}, t('item.product.option', {name: p.name, kind: kindLabel(p.kind)}))));
    if (shown.length === 1 && q) product.value = shown[0].id;
    fillTerms();
  };
  const term = h('select', {name: 'term', class: 'item-term', required: true, disabled: true});
  const mode = h('select', {name: 'mode', class: 'item-mode'},
    h('option', {value: 'absolute'}, t('mode.absolute')), h('option', {value: 'relative'}, t('mode.relative')));
  const seats = h('input', {name: 'seats', class: 'item-seats', type: 'number', min: 1, step: 1, inputmode: 'numeric'});
  const add = h('button', {type: 'submit', class: 'item-add'}, t('item.add'));
  const fillTerms = () => {
    const p = products.find((x) => x.id === product.value);
    const terms = p ? p.license_terms_months : [];
    term.replaceChildren(...terms.map((m) => h('option', {value: String(m)}, months(m))));
    term.disabled = terms.length === 0;
  };
  product.addEventListener('change', fillTerms);
  search.addEventListener('input', fillProducts);
  const form = h('form', {class: 'add-item'},
    h('h3', null, t('item.add.title')),
    h('div', {class: 'row'}, h('div', {class: 'picker'}, field(t('item.search'), search), field(t('col.product'), product)),
      field(t('col.term'), term), field(t('col.mode'), mode),
      field(t('item.seats'), seats), h('div', {class: 'actions'}, add)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!product.value || !term.value) {
      guard(() => { throw new ApiError(0, {title: t('form.incomplete'), detail: t('item.incomplete')}); });
      return;
    }
    const body = {product_id: product.value, term_months: Number(term.value), license_mode: mode.value};
    if (seats.value !== '') body.seats = Number(seats.value);
    // After an add the form starts afresh, so that seats or a mode chosen
    // for one item are not carried into the next unnoticed.
    submit({button: add, body}).then((ok) => {
      if (!ok) return;
      form.reset();
      fillProducts();
    });
  });
  fillProducts();
  return form;
}

function productsView() {
  const search = h('input', {id: 'product-search', type: 'search', name: 'q', autocomplete: 'off'});
  const body = h('tbody');
  const name = h('input', {id: 'product-name', name: 'name', required: true});
  const kind = h('select', {id: 'product-kind', name: 'kind'},
    h('option', {value: 'module'}, t('kind.module')), h('option', {value: 'course'}, t('kind.course')));
  const terms = h('input', {id: 'product-terms', name: 'terms', required: true, placeholder: '12, 24', inputmode: 'numeric',
    'aria-describedby': 'product-terms-hint'});
  const add = h('button', {type: 'submit', id: 'product-add'}, t('products.add'));
  const view = {};
  const form = h('form', {class: 'card', id: 'product-form'},
    h('h2', null, t('products.add.title')),
    h('div', {class: 'row'}, field(t('customers.name'), name), field(t('col.kind'), kind),
      field(t('products.terms'), terms, h('p', {id: 'product-terms-hint', class: 'muted small'}, t('products.terms.hint'))),
      h('div', {class: 'actions'}, add)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(add, async () => {
      const parts = terms.value.split(/[\s,;]+/).filter(Boolean);
      const months = parts.map(Number);
      if (months.length === 0 || months.some((m) => !Number.isInteger(m))) {
        throw new ApiError(0, {title: t('products.terms.bad.title'), detail: t('products.terms.bad.detail')});
      }
      await api('POST', '/v1/products', {body: {name: name.value, kind: kind.value, license_terms_months: months}, idempotencyKey: newKey()});
      form.reset();
      await view.refresh();
    });
  });
  search.addEventListener('input', debounce(() => guard(view.refresh), 250));
  view.el = h('div', {class: 'view'},
    h('section', {class: 'card', 'aria-labelledby': 'products-title'},
      h('div', {class: 'row spread'}, h('h2', {id: 'products-title'}, t('products.title')), field(t('products.search'), search)),
      h('table', {id: 'products'},
        h('thead', null, h('tr', null, ['col.name', 'col.kind', 'col.terms'].map((c) => h('th', {scope: 'col'}, t(c))))),
        body)),
    form);
  view.refresh = async () => {
    const q = search.value.trim();
    const products = await listAll(q ? `/v1/products?q=${encodeURIComponent(q)}` : '/v1/products');
    patch(body, products.length === 0 ? h('tr', null, h('td', {colspan: 3, class: 'muted'}, t(q ? 'products.nomatch' : 'products.none')))
      : products.map((p) => h('tr', {dataset: {key: p.id, productId: p.id}},
      h('td', null, p.name),
      h('td', null, kindLabel(p.kind)),
      h('td', null, p.license_terms_months.map(months).join(', ')))));
  };
  return view;
}
