// app.js: asks who is signed in, builds that role's navigation, shows one
// section at a time (chosen by the URL's #fragment), and passes the live
// updates on to the section on screen.

import {api, bus, clearError, connectStream, debounce, guard, h, showError, t} from './core.js';
import {resellerSections} from './reseller.js';
import {customerSections, startBadge} from './customer.js';
import {auditorSections} from './auditor.js';

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
  document.getElementById('who').textContent = ['reseller', 'customer', 'auditor'].includes(me.role) ? t(`role.${me.role}`) : me.role;
  document.body.dataset.role = me.role;

  let sections;
  if (me.role === 'reseller') sections = resellerSections();
  else if (me.role === 'customer') sections = customerSections();
  else if (me.role === 'auditor') sections = auditorSections();
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
  let currentArg = '';
  // The fragment names a section and, after a slash, what in it
  // (#customers/ID is a customer instance's page).
  const show = async () => {
    const [id, ...rest] = (location.hash.slice(1) || sections[0].id).split('/');
    const arg = decodeURIComponent(rest.join('/'));
    const section = sections.find((s) => s.id === id) || sections[0];
    if (section.id === currentID && arg === currentArg && current) return;
    currentID = section.id;
    currentArg = arg;
    for (const [sid, a] of links) {
      if (sid === section.id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    clearError();
    const view = section.mount(arg);
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
  // The stream is for resellers and customers (an auditor's pages change
  // only when asked to check again).
  if (me.role !== 'auditor') connectStream();
  await show();
}

start().catch(showError);
