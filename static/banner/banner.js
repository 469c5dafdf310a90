/*! consentkit banner: <script src="/consentkit/banner.js" defer>; P = this script's directory.
 * Cookie consentkit="<policy>|<cat+cat>|<id>.<ts>.<sig>" (signed, necessary implied) => decided.
 * GET P/state -> {decided, categories, policy_version, gpc, language, dir,
 *   config: {categories: [{name, title, description, required}], texts, position}}
 * POST P/consent {action: accept_all|reject_all|custom, categories} -> 200 + /state JSON.
 * CSP-safe: no inline style (CSS is P/banner.css), DOM built with textContent.
 */
(() => {
  'use strict';
  const w = window, d = document;
  if (w.consentkit && w.consentkit.allows) return;
  const me = d.currentScript;
  const P = me ? me.src.split(/[?#]/)[0].replace(/\/[^/]*$/, '') : '/consentkit';
  const NEC = 'necessary', MKT = 'marketing';
  const GPC = navigator.globalPrivacyControl === true;
  const noop = () => {};

  // Google Consent Mode v2: analytics -> analytics_storage, marketing -> ad_*
  w.dataLayer = w.dataLayer || [];
  function gtag() { w.dataLayer.push(arguments); }
  if (typeof w.gtag != 'function') w.gtag = gtag;
  const consent = (kind, f) => {
    const o = {};
    ['analytics_storage', 'ad_storage', 'ad_user_data', 'ad_personalization']
      .forEach((k, i) => { o[k] = f(i ? MKT : 'analytics') ? 'granted' : 'denied'; });
    gtag('consent', kind, o);
  };
  consent('default', noop);

  let S, cfg, stP, cssP, busy, last, opener, root, banner, ov, dlg, sw = {};
  const api = w.consentkit = { show, allows, accept: () => act('accept_all'), reject: () => act('reject_all') };

  function setState(j) {
    S = api.state = { decided: !!j.decided, categories: j.categories || [NEC], policy_version: j.policy_version || null, gpc: !!j.gpc };
    cfg = j.config || cfg;
  }
  function allows(c) { return c == NEC || S.categories.includes(c); }

  // Strip ".<ts>.<sig>", then split "<policy>|<cats>|<id>".
  // The server writes its policy version here when it serves this file: a decision for
  // another version is no decision, even on a page a CDN cached with the old cookie.
  const V = '%CK_POLICY%';
  function readCookie() {
    const m = d.cookie.match(/(?:^|;\s*)consentkit="?([^;"]*)/);
    const p = m ? m[1].split('.').slice(0, -2).join('.').split('|') : [];
    if (p.length < 3 || (V[0] != '%' && p[0] != V)) return null;
    const cats = p[1].split('+').filter(c => c && c != NEC);
    return { decided: true, categories: [NEC, ...cats], policy_version: p[0], gpc: GPC };
  }

  // Run gated content of granted categories, once per element.
  function gate() {
    d.querySelectorAll('[data-category]').forEach(o => {
      const src = o.dataset.src, s = o.tagName == 'SCRIPT';
      if ((s ? o.type != 'text/plain' : !src) || !o.dataset.category.trim().split(/\s+/).every(allows)) return;
      if (!s) { o.removeAttribute('data-src'); o.src = src; return; }
      const n = d.createElement('script');
      for (const a of o.attributes) if (!/^(type|data-src|nonce|style)$/.test(a.name)) n.setAttribute(a.name, a.value);
      n.nonce = o.nonce;
      if (src) { n.async = o.async; n.src = src; } else n.text = o.text;
      o.replaceWith(n);
    });
  }
  function granted() { consent('update', allows); gate(); }

  const req = (path, o) => fetch(P + path, { credentials: 'same-origin', cache: 'no-store', ...o })
    .then(r => { if (r.status != 200) throw Error(r.status); return r.json(); });

  function getState() {
    cssP = cssP || new Promise(r => {
      const l = el('link');
      l.rel = 'stylesheet';
      l.href = P + '/banner.css';
      l.onload = l.onerror = r;
      d.head.append(l);
    });
    return stP || (stP = Promise.all([req('/state'), cssP]).then(([j]) => {
      setState(j);
      ui(j);
      vis(banner, !S.decided && !j.bot);
      if (S.decided && !ck) granted();
    }, e => { stP = null; throw e; }));
  }

  function act(action, categories = []) {
    if (busy) return busy;
    last = [action, categories];
    err(0);
    return (busy = req('/consent', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ action, categories })
    }).then(j => {
      busy = null;
      setState(j);
      if (root) { vis(banner, !S.decided); close(); }
      granted();
      w.dispatchEvent(new CustomEvent('consentkit:change', { detail: S }));
      return S;
    }, e => { busy = null; err(1); throw e; }));
  }

  // ---- DOM (textContent only) ----
  function el(tag, cls, text, at) {
    const e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    for (const k in at) e.setAttribute(k, at[k]);
    return e;
  }
  function btn(text, f, cls = 'ck-btn', at) {
    const b = el('button', cls, text, at);
    b.type = 'button';
    b.onclick = f;
    return b;
  }
  const vis = (e, on) => e.classList.toggle('ck-hidden', !on);
  const isOpen = () => root && !ov.classList.contains('ck-hidden');
  const run = (a, c) => () => act(a, c && c()).catch(noop);
  const err = on => root && root.querySelectorAll('.ck-err').forEach(b => {
    vis(b, on);
    b.firstChild.textContent = on ? cfg.texts.error : '';
  });
  // Texts block: [heading, description], GPC notice, error + retry.
  function texts(t, ...first) {
    const x = el('div', 'ck-text');
    x.append(...first);
    if (S.gpc) x.append(el('p', 'ck-gpc', t.gpc_notice));
    const e = el('div', 'ck-err ck-hidden');
    e.append(el('span', '', '', { role: 'alert' }), btn(t.retry, () => last && act(...last).catch(noop), 'ck-retry'));
    x.append(e);
    return x;
  }
  // Three buttons of equal weight.
  const buttons = (t, third) => {
    const b = el('div', 'ck-btns');
    b.append(btn(t.accept_all, run('accept_all')), btn(t.reject_all, run('reject_all')), third);
    return b;
  };

  function ui(j) {
    if (root) return;
    const t = cfg.texts;
    root = el('div', 'ck-root ck-' + (cfg.position == 'box' ? 'box' : 'bar'), '', { dir: j.dir == 'rtl' ? 'rtl' : 'ltr', lang: j.language || '' });
    banner = el('div', 'ck-banner ck-hidden', '', { role: 'region', 'aria-label': t.title });
    banner.append(texts(t, el('h2', 'ck-title', t.title), el('p', 'ck-desc', t.description)),
      buttons(t, btn(t.preferences, e => open(e.currentTarget))));

    ov = el('div', 'ck-overlay ck-hidden');
    dlg = el('div', 'ck-dialog', '', { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'ck-dlg-title', tabindex: '-1' });
    const head = el('div', 'ck-head');
    head.append(el('h2', 'ck-title', t.preferences, { id: 'ck-dlg-title' }),
      btn('\u00d7', close, 'ck-close', { 'aria-label': t.close }));
    const list = el('div', 'ck-cats');
    for (const c of cfg.categories) {
      const id = 'ck-c-' + c.name, row = el('div', 'ck-cat');
      const i = sw[c.name] = el('input', 'ck-sw', '', { type: 'checkbox', role: 'switch', id, 'aria-describedby': id + 'd' });
      i.disabled = !!c.required;
      row.append(el('label', 'ck-cat-t', c.title, { for: id }), i, el('p', 'ck-desc', c.description, { id: id + 'd' }));
      list.append(row);
    }
    const save = () => cfg.categories.map(c => c.name).filter(n => sw[n].checked);
    dlg.append(head, texts(t), list, buttons(t, btn(t.save, run('custom', save))));
    dlg.onkeydown = trap;
    ov.append(dlg);
    root.append(banner, ov);
    d.body.append(root);
    d.addEventListener('focusin', e => { if (isOpen() && !dlg.contains(e.target)) tabbable()[0].focus(); });
  }

  // ---- dialog focus handling ----
  const tabbable = () => [...dlg.querySelectorAll('button,input')].filter(e => !e.disabled && e.getClientRects().length);
  function trap(e) {
    if (e.key == 'Escape') { e.preventDefault(); close(); }
    if (e.key != 'Tab') return;
    const f = tabbable(), a = f[0], z = f[f.length - 1], c = d.activeElement;
    if (e.shiftKey ? c == a || c == dlg : c == z) { e.preventDefault(); (e.shiftKey ? z : a).focus(); }
  }
  function open(op) {
    if (isOpen()) return;
    opener = op;
    // the current choice, as the server holds it (never pre-ticked before one)
    for (const c of cfg.categories) sw[c.name].checked = c.required || allows(c.name);
    vis(ov, 1);
    tabbable()[0].focus();
  }
  function close() {
    if (!isOpen()) return;
    vis(ov, 0);
    const o = opener && opener.isConnected && opener.getClientRects().length ? opener : banner.querySelector('.ck-btn');
    if (o && o.getClientRects().length) o.focus();
  }

  function show(op) {
    op = op && op.focus ? op : d.activeElement;
    return (root ? Promise.resolve() : getState()).then(() => open(op));
  }
  d.addEventListener('click', e => {
    const t = e.target.closest && e.target.closest('[data-consentkit-open]');
    if (t) { e.preventDefault(); show(t).catch(noop); }
  });

  // ---- boot ----
  const ck = readCookie();
  setState(ck || { gpc: GPC });
  const ready = f => (d.readyState == 'loading' ? d.addEventListener('DOMContentLoaded', f) : f());
  if (ck) { consent('update', allows); ready(gate); } else ready(() => getState().catch(noop));
})();
