// The page: layout, routing (#/c/<id>, #/kb, #/kb/<name>), the API-key prompt,
// theme, keyboard shortcuts, and the wiring between sidebar, chat and composer.

import { get, onKeyNeeded, setApiKey } from './api.js';
import { ChatView } from './chat.js';
import { Composer } from './composer.js';
import { $, h, icon, iconButton, modal, toast } from './dom.js';
import { KnowledgePage } from './kb.js';
import { ready as markdownReady } from './markdown.js';
import { ConversationList } from './sidebar.js';
import { load, save } from './store.js';

const PHONE = window.matchMedia('(max-width: 760px)');

// --- theme ----------------------------------------------------------------------------

const isDark = (theme) => theme === 'dark'
  || (theme !== 'light' && window.matchMedia('(prefers-color-scheme: dark)').matches);

function applyTheme(theme) {
  const root = document.documentElement;
  if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  else delete root.dataset.theme;
  const dark = isDark(theme);
  $('#hl-light').media = dark ? 'not all' : 'all';
  $('#hl-dark').media = dark ? 'all' : 'not all';
  $('.theme-toggle')?.replaceChildren(icon(dark ? 'sun' : 'moon', 16));
}

function toggleTheme() {
  const theme = isDark(load('theme', 'system')) ? 'light' : 'dark';
  save('theme', theme);
  applyTheme(theme);
}

// --- API key --------------------------------------------------------------------------

async function askForKey(message) {
  const input = h('input', { type: 'password', name: 'key', required: true, autocomplete: 'off',
    placeholder: 'API key', 'aria-label': 'API key' });
  const key = await modal({
    title: 'API key needed',
    body: [h('p', { class: 'modal-text', text: 'This service needs an API key. It is kept in this browser\'s '
      + 'local storage and sent with every request.' }),
    message ? h('p', { class: 'modal-text muted small', text: message }) : null, input],
    confirm: 'Save key',
    values: () => input.value.trim(),
  });
  if (!key) return false;
  setApiKey(key);
  return true;
}

// --- the page -------------------------------------------------------------------------

class App {
  constructor() {
    this.composer = new Composer({
      onSend: (text, problem) => (problem ? this.chat.notice(problem) : this.chat.send(text)),
      onStop: () => this.chat.stop(),
    });
    this.chat = new ChatView({
      composer: this.composer,
      onConversation: (id, { created }) => this.conversationChanged(id, created),
    });
    this.conversations = new ConversationList({
      onDeleted: (id) => {
        if (id === this.chat.conversationId) location.hash = '#/';
      },
      onRenamed: (conversation) => {
        if (conversation.id === this.chat.conversationId) this.title.textContent = conversation.title;
      },
    });
    this.kb = new KnowledgePage({ onBasesChanged: (bases) => this.composer.setBases(bases) });
    for (const button of this.composer.kindButtons) button.addEventListener('click', () => this.chat.refreshEmpty());
    this.build();
  }

  build() {
    this.title = h('div', { class: 'topbar-title', text: 'New chat' });
    this.sidebar = h('aside', { class: 'sidebar', id: 'sidebar', 'aria-label': 'Sidebar' },
      h('div', { class: 'sidebar-head' },
        h('a', { class: 'brand', href: '#/' }, h('span', { class: 'brand-mark' }, icon('bot', 16)),
          h('span', { text: 'agent-service' })),
        iconButton('sidebar', 'Close sidebar', () => this.toggleSidebar(false), { class: 'sidebar-close' })),
      h('a', { class: 'btn new-chat', href: '#/', title: 'New chat (Ctrl+Shift+O)',
        onclick: () => this.chat.conversationId === null && this.chat.newChat() },
      icon('plus', 16), h('span', { text: 'New chat' })),
      h('a', { class: 'nav-link kb-link', href: '#/kb' }, icon('book', 16), h('span', { text: 'Knowledge bases' })),
      this.conversations.el,
      h('div', { class: 'sidebar-foot' },
        h('span', { class: 'health', title: 'Service status' }),
        iconButton('key', 'API key', () => askForKey('').then((saved) => saved && this.reload())),
        iconButton(isDark(load('theme', 'system')) ? 'sun' : 'moon', 'Toggle dark mode', toggleTheme,
          { class: 'theme-toggle' }),
        iconButton('help', 'Keyboard shortcuts', () => this.shortcuts())));
    this.chatView = h('section', { class: 'view chat-view' },
      h('header', { class: 'topbar' },
        iconButton('menu', 'Show sidebar', () => this.toggleSidebar(), { class: 'menu-btn' }),
        this.title),
      this.chat.el,
      this.composer.el);
    this.kbView = h('section', { class: 'view kb-view', hidden: true },
      h('header', { class: 'topbar' },
        iconButton('menu', 'Show sidebar', () => this.toggleSidebar(), { class: 'menu-btn' }),
        h('div', { class: 'topbar-title', text: 'Knowledge bases' })),
      h('div', { class: 'kb-scroll' }, this.kb.el));
    // On a phone, following any link in the drawer closes it (even to the page already shown).
    this.sidebar.addEventListener('click', (event) => {
      if (PHONE.matches && event.target.closest('a')) this.toggleSidebar(false);
    });
    const scrim = h('div', { class: 'scrim', onclick: () => this.toggleSidebar(false) });
    const root = $('#app');
    root.replaceChildren(this.sidebar, scrim, h('main', { class: 'main' }, this.chatView, this.kbView));
    root.classList.toggle('sidebar-collapsed', !PHONE.matches && load('sidebar-collapsed', false));
  }

  toggleSidebar(open) {
    const root = $('#app');
    if (PHONE.matches) {
      root.classList.toggle('sidebar-open', open ?? !root.classList.contains('sidebar-open'));
    } else {
      const collapsed = open === undefined ? !root.classList.contains('sidebar-collapsed') : !open;
      root.classList.toggle('sidebar-collapsed', collapsed);
      save('sidebar-collapsed', collapsed);
    }
  }

  async start() {
    onKeyNeeded(askForKey);
    window.addEventListener('hashchange', () => this.route());
    document.addEventListener('keydown', (event) => this.shortcut(event));
    await Promise.all([this.route(), this.loadLists()]);
  }

  // After a new API key: everything that comes from the API again.
  async reload() {
    await Promise.all([this.loadLists(), this.route()]);
  }

  async loadLists() {
    const results = await Promise.allSettled([
      get('/models').then((models) => this.composer.setModels(models)),
      get('/tools').then(({ tools }) => this.composer.setTools(tools)),
      get('/knowledge_bases').then((bases) => this.composer.setBases(bases)),
      this.conversations.load(),
    ]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) toast(`Could not reach the service: ${failed.reason.message}`, 'error');
    this.checkHealth();
  }

  async checkHealth() {
    const dot = $('.health', this.sidebar);
    try {
      const health = await (await fetch('/health')).json();
      dot.className = `health ${health.status}`;
      dot.title = `Service ${health.status}, version ${health.version}`;
    } catch {
      dot.className = 'health down';
      dot.title = 'The service cannot be reached';
    }
  }

  async route() {
    const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
    if (PHONE.matches) this.toggleSidebar(false);
    if (hash === 'kb' || hash.startsWith('kb/')) {
      this.chatView.hidden = true;
      this.kbView.hidden = false;
      this.sidebar.querySelector('.kb-link').setAttribute('aria-current', 'page');
      this.conversations.setActive(null);
      await this.kb.show(hash.slice(3) || null);
      return;
    }
    this.sidebar.querySelector('.kb-link').removeAttribute('aria-current');
    this.kbView.hidden = true;
    this.chatView.hidden = false;
    if (hash.startsWith('c/')) {
      const id = hash.slice(2);
      this.conversations.setActive(id);
      this.title.textContent = this.titleOf(id);
      if (id !== this.chat.conversationId || !this.chat.streaming) {
        await this.chat.open(id);
        if (this.chat.conversationId === id && this.chat.title) this.title.textContent = this.chat.title;
      }
    } else {
      this.conversations.setActive(null);
      this.title.textContent = 'New chat';
      // A first message still streaming (no conversation id yet) is not thrown away.
      if (!(this.chat.streaming && this.chat.conversationId === null)) this.chat.newChat();
    }
  }

  titleOf(id) {
    return this.conversations.items.find((c) => c.id === id)?.title || 'Conversation';
  }

  // A turn created or finished a conversation: show it in the URL and the list.
  async conversationChanged(id, created) {
    if (!id) return;
    if (created) history.replaceState(null, '', `#/c/${id}`);
    await this.conversations.load();
    this.conversations.setActive(id);
    this.title.textContent = this.titleOf(id);
  }

  shortcut(event) {
    const mod = event.ctrlKey || event.metaKey;
    if (mod && event.shiftKey && event.key.toLowerCase() === 'o') {
      event.preventDefault();
      location.hash = '#/';
      this.chat.newChat();
    } else if (mod && event.key.toLowerCase() === 'k') {
      event.preventDefault();
      if (PHONE.matches) this.toggleSidebar(true);
      this.conversations.search.focus();
    } else if (mod && event.shiftKey && event.key.toLowerCase() === 's') {
      event.preventDefault();
      this.toggleSidebar();
    } else if (event.key === 'Escape' && !document.querySelector('dialog[open]')) {
      if (this.chat.streaming) this.chat.stop();
      else if ($('#app').classList.contains('sidebar-open')) this.toggleSidebar(false);
    } else if (event.key === '/' && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName)) {
      event.preventDefault();
      this.composer.focus();
    }
  }

  shortcuts() {
    const rows = [['Enter', 'Send'], ['Shift + Enter', 'New line'], ['Esc', 'Stop the answer'],
      ['Ctrl/⌘ + Shift + O', 'New chat'], ['Ctrl/⌘ + K', 'Search conversations'],
      ['Ctrl/⌘ + Shift + S', 'Show or hide the sidebar'], ['/', 'Focus the message box']];
    modal({ title: 'Keyboard shortcuts', cancel: null, confirm: 'Close',
      body: h('table', { class: 'shortcuts' }, rows.map(([keys, what]) => h('tr', {},
        h('td', {}, h('kbd', { text: keys })), h('td', { text: what })))) });
  }
}

async function main() {
  applyTheme(load('theme', 'system'));
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme(load('theme', 'system')));
  await markdownReady; // never blocks for long: a missing library only means plain text
  await new App().start();
}

main();
