// catalog.js: the reseller's offer templates (items, the green/red license
// mode toggle, adding items from the catalog) and the product catalog.

import {ApiError, api, busy, debounce, field, guard, h, listAll, newKey, patch, uniqueId} from './core.js';

const KIND_LABELS = {module: 'Module', course: 'Course'};
const MODE_LABELS = {absolute: 'Absolute', relative: 'Relative'};
const OTHER_MODE = {absolute: 'relative', relative: 'absolute'};

// templatesSection is the templates section of the reseller's navigation.
export const templatesSection = {id: 'templates', label: 'Templates', mount: templatesView};

// productsSection is the catalog section of the reseller's navigation.
export const productsSection = {id: 'products', label: 'Products', mount: productsView};

function templatesView() {
  const name = h('input', {id: 'template-name', name: 'name', required: true});
  const create = h('button', {type: 'submit', id: 'template-create'}, 'Create template');
  const list = h('div', {id: 'templates'});
  const view = {};
  const form = h('form', {class: 'card', id: 'template-form'},
    h('h2', null, 'New template'),
    h('div', {class: 'row'}, field('Name', name), h('div', {class: 'actions'}, create)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(create, async () => {
      await api('POST', '/v1/templates', {body: {name: name.value}, idempotencyKey: newKey()});
      form.reset();
      await view.refresh();
    });
  });
  view.el = h('div', {class: 'view'},
    h('p', {id: 'mode-legend', class: 'legend'},
      'License mode: ', h('span', {class: 'mode mode-absolute'}, 'Absolute'),
      ' one period for the whole customer instance, from acceptance; ',
      h('span', {class: 'mode mode-relative'}, 'Relative'),
      ' the term runs for each learner from their own start. Click a mode to switch it.'),
    list, form);
  view.refresh = async () => {
    const [templates, products] = await Promise.all([listAll('/v1/templates'), listAll('/v1/products')]);
    // A card is kept while its template is unchanged: its closures own it
    // (and what is typed in its add form), so it is never redrawn in place.
    const cards = new Map([...list.children].map((c) => [c.dataset.key, c]));
    list.replaceChildren(...(templates.length === 0 ? [h('p', {class: 'card muted'}, 'No templates yet.')] : templates.map((t) => {
      const have = cards.get(t.id);
      if (have && have.dataset.version === String(t.version)) return have;
      return templateCard(t, products, view.refresh);
    })));
  };
  return view;
}

// templateCard shows one template: its items with their mode toggles, and
// the form that adds an item. It redraws its table from each answer.
function templateCard(t, products, reload) {
  let tpl = t;
  const titleID = uniqueId('tpl');
  const body = h('tbody');
  const card = h('section', {class: 'card template', dataset: {key: t.id, version: String(t.version), templateId: t.id}, 'aria-labelledby': titleID});
  const path = () => `/v1/templates/${encodeURIComponent(tpl.id)}`;

  // change runs a command on the template and shows the template it
  // answers; after a version conflict it shows the current one.
  const change = (button, fn) => busy(button, async () => {
    try {
      tpl = await fn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'version_conflict') tpl = await api('GET', path());
      throw err;
    } finally {
      render();
    }
  });

  const itemRow = (it) => {
    const mode = h('button', {type: 'button', class: `mode mode-${it.license_mode}`, dataset: {mode: it.license_mode},
      title: `Switch to ${MODE_LABELS[OTHER_MODE[it.license_mode]]}`, 'aria-describedby': 'mode-legend',
      onclick: (ev) => change(ev.currentTarget, () => api('PATCH', `${path()}/items/${encodeURIComponent(it.id)}`,
        {body: {license_mode: OTHER_MODE[it.license_mode]}, ifMatch: tpl.version}))},
    MODE_LABELS[it.license_mode] || it.license_mode);
    const remove = h('button', {type: 'button', class: 'link', 'aria-label': `Remove ${it.product_name} from ${tpl.name}`,
      onclick: (ev) => change(ev.currentTarget, () => api('DELETE', `${path()}/items/${encodeURIComponent(it.id)}`, {ifMatch: tpl.version}))},
    'Remove');
    return h('tr', {dataset: {key: it.id, itemId: it.id}},
      h('td', null, it.product_name),
      h('td', null, KIND_LABELS[it.kind] || it.kind),
      h('td', null, `${it.term_months} months`),
      h('td', null, it.seats === null || it.seats === undefined ? 'no limit' : String(it.seats)),
      h('td', null, mode),
      h('td', null, remove));
  };
  const render = () => {
    card.dataset.version = String(tpl.version);
    patch(body, tpl.items.length === 0 ? h('tr', null, h('td', {colspan: 6, class: 'muted'}, 'No items yet.')) : tpl.items.map(itemRow));
  };

  const archive = h('button', {type: 'button', class: 'link danger', 'aria-label': `Archive ${t.name}`,
    onclick: (ev) => {
      if (!window.confirm(`Archive the template ${tpl.name}? Sent offers keep their items.`)) return;
      busy(ev.currentTarget, async () => {
        await api('DELETE', path(), {ifMatch: tpl.version});
        await reload();
      });
    }}, 'Archive');
  card.append(
    h('div', {class: 'row spread'}, h('h2', {id: titleID}, t.name), archive),
    h('table', {class: 'items'},
      h('thead', null, h('tr', null, ['Product', 'Kind', 'Term', 'Seats', 'License mode', ''].map((c) => h('th', {scope: 'col'}, c)))),
      body),
    addItemForm(products, (b) => change(b.button, () => api('POST', `${path()}/items`, {body: b.body, idempotencyKey: newKey()}))));
  render();
  return card;
}

// addItemForm picks a product from the catalog and one of its terms.
function addItemForm(products, submit) {
  const product = h('select', {name: 'product', class: 'item-product', required: true},
    h('option', {value: ''}, 'Choose a product'),
    products.map((p) => h('option', {value: p.id}, `${p.name} (${KIND_LABELS[p.kind] || p.kind})`)));
  const term = h('select', {name: 'term', class: 'item-term', required: true, disabled: true});
  const mode = h('select', {name: 'mode', class: 'item-mode'},
    h('option', {value: 'absolute'}, 'Absolute'), h('option', {value: 'relative'}, 'Relative'));
  const seats = h('input', {name: 'seats', class: 'item-seats', type: 'number', min: 1, step: 1, inputmode: 'numeric'});
  const add = h('button', {type: 'submit', class: 'item-add'}, 'Add item');
  const fillTerms = () => {
    const p = products.find((x) => x.id === product.value);
    const terms = p ? p.license_terms_months : [];
    term.replaceChildren(...terms.map((m) => h('option', {value: String(m)}, `${m} months`)));
    term.disabled = terms.length === 0;
  };
  product.addEventListener('change', fillTerms);
  const form = h('form', {class: 'add-item'},
    h('h3', null, 'Add an item from the catalog'),
    h('div', {class: 'row'}, field('Product', product), field('Term', term), field('License mode', mode),
      field('Seats (optional)', seats), h('div', {class: 'actions'}, add)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!product.value || !term.value) {
      guard(() => { throw new ApiError(0, {title: 'Incomplete form', detail: 'Choose a product and a term.'}); });
      return;
    }
    const body = {product_id: product.value, term_months: Number(term.value), license_mode: mode.value};
    if (seats.value !== '') body.seats = Number(seats.value);
    submit({button: add, body});
  });
  return form;
}

function productsView() {
  const search = h('input', {id: 'product-search', type: 'search', name: 'q', autocomplete: 'off'});
  const body = h('tbody');
  const name = h('input', {id: 'product-name', name: 'name', required: true});
  const kind = h('select', {id: 'product-kind', name: 'kind'},
    h('option', {value: 'module'}, 'Module'), h('option', {value: 'course'}, 'Course'));
  const terms = h('input', {id: 'product-terms', name: 'terms', required: true, placeholder: '12, 24', inputmode: 'numeric',
    'aria-describedby': 'product-terms-hint'});
  const add = h('button', {type: 'submit', id: 'product-add'}, 'Add product');
  const view = {};
  const form = h('form', {class: 'card', id: 'product-form'},
    h('h2', null, 'Add a product'),
    h('div', {class: 'row'}, field('Name', name), field('Kind', kind),
      field('License terms in months', terms, h('p', {id: 'product-terms-hint', class: 'muted small'}, 'Separate several terms with commas.')),
      h('div', {class: 'actions'}, add)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(add, async () => {
      const parts = terms.value.split(/[\s,;]+/).filter(Boolean);
      const months = parts.map(Number);
      if (months.length === 0 || months.some((m) => !Number.isInteger(m))) {
        throw new ApiError(0, {title: 'Check the terms', detail: 'License terms are whole numbers of months, such as 12, 24.'});
      }
      await api('POST', '/v1/products', {body: {name: name.value, kind: kind.value, license_terms_months: months}, idempotencyKey: newKey()});
      form.reset();
      await view.refresh();
    });
  });
  search.addEventListener('input', debounce(() => guard(view.refresh), 250));
  view.el = h('div', {class: 'view'},
    h('section', {class: 'card', 'aria-labelledby': 'products-title'},
      h('div', {class: 'row spread'}, h('h2', {id: 'products-title'}, 'Product catalog'), field('Search by name', search)),
      h('table', {id: 'products'},
        h('thead', null, h('tr', null, ['Name', 'Kind', 'License terms'].map((c) => h('th', {scope: 'col'}, c)))),
        body)),
    form);
  view.refresh = async () => {
    const q = search.value.trim();
    const products = await listAll(q ? `/v1/products?q=${encodeURIComponent(q)}` : '/v1/products');
    patch(body, products.length === 0 ? h('tr', null, h('td', {colspan: 3, class: 'muted'}, q ? 'No product matches.' : 'No products yet.'))
      : products.map((p) => h('tr', {dataset: {key: p.id, productId: p.id}},
      h('td', null, p.name),
      h('td', null, KIND_LABELS[p.kind] || p.kind),
      h('td', null, p.license_terms_months.map((m) => `${m} months`).join(', ')))));
  };
  return view;
}
