// i18n.js: the page's language and its messages. The server chose the
// language (the remembered switch, else Accept-Language) and wrote it into
// <html lang>; the messages are the same catalogue the server uses.

// lang is the page's language: "en" or "de".
export const lang = document.documentElement.lang === 'de' ? 'de' : 'en';

const messages = await (await fetch(`/assets/messages.${lang}.json`, {credentials: 'same-origin'})).json();

// t returns the message key in the page's language, its {name}
// placeholders filled from vars. A missing key is a bug: it is reported on
// the console (which fails the browser tests) and shown as the key.
export function t(key, vars) {
  const m = messages[key];
  if (m === undefined) {
    console.error(`offerflow: no message ${key} in ${lang}`);
    return key;
  }
  return vars ? m.replace(/\{(\w+)\}/g, (all, k) => (k in vars ? String(vars[k]) : all)) : m;
}

// has reports whether the catalogue has key (for texts built from data,
// such as an event's type, that may name something newer than the page).
export function has(key) { return Object.hasOwn(messages, key); }

// fmtNumber writes n as the language writes numbers (2,000 / 2.000).
export function fmtNumber(n) { return Number(n).toLocaleString(lang); }

// fmtTime writes an RFC 3339 time as the language writes date and time, or a dash.
export function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(lang, {dateStyle: 'medium', timeStyle: 'short'});
}

// fmtDay writes the date of an RFC 3339 time, or a dash.
export function fmtDay(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(lang, {dateStyle: 'medium'});
}

// months writes a term in months.
export function months(n) { return t('months', {n: fmtNumber(n)}); }
