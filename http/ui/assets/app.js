// app.js: asks who is signed in, builds that role's navigation, shows one
// section at a time (chosen by the URL's #fragment), and passes the live
// updates on to the section on screen.

import {api, bus, clearError, connectStream, debounce, guard, h, showError, t} from './core.js';
import {resellerSections} from './reseller.js';
import {customerSections, startBadge} from './customer.js';

async function start() {
  document.getElementById('notice-close').addEventListener('click', clearError);
  let me;
  try {
    me = await api('GET', '/session');
  } catch (err) {
    if (err.status === 401) location.replace('/');
    else showError(err);
    return;
  }
  document.getElementById('who').textContent = ['reseller', 'customer'].includes(me.role) ? t(`role.${me.role}`) : me.role;
  document.body.dataset.role = me.role;

  let sections;
  if (me.role === 'reseller') sections = resellerSections();
  else if (me.role === 'customer') sections = customerSections();
  else {
    showError({message: t('error.role', {role: me.role})});
    return;
  }

  const nav = document.getElementById('nav');
  const main = document.getElementById('main');
  const links = new Map();
  for (const s of sections) {
    const a = h('a', {href: `#${s.id}`, id: `nav-${s.id}`, class: 'nav-link'}, s.label, s.extra ? s.extra() : null);
    links.set(s.id, a);
    nav.append(a);
  }

  let current = null;
  let currentID = '';
  const show = async () => {
    const id = location.hash.slice(1) || sections[0].id;
    const section = sections.find((s) => s.id === id) || sections[0];
    if (section.id === currentID && current) return;
    currentID = section.id;
    for (const [sid, a] of links) {
      if (sid === section.id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    clearError();
    const view = section.mount();
    current = view;
    main.replaceChildren(view.el);
    await guard(() => view.refresh());
  };
  window.addEventListener('hashchange', show);
  // The language switch keeps the section on screen.
  const langSwitch = document.getElementById('lang-switch');
  langSwitch.addEventListener('click', () => { langSwitch.hash = location.hash; });

  // Sections that show offers follow the live updates (templates and the
  // catalog do not change with them). A burst of events (an offer sent and delivered at once) refreshes once.
  const refresh = debounce(() => { if (current && current.live) guard(() => current.refresh()); }, 100);
  bus.addEventListener('offer', refresh);
  bus.addEventListener('open', refresh);
  if (me.role === 'customer') startBadge();
  connectStream();
  await show();
}

start().catch(showError);
