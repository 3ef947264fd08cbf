// The conversation list: newest first, grouped by day, searchable by title,
// with rename and delete. Search passes `q` to the API and also filters here,
// so it is right whether or not the server filters.

import { del, get, patch } from './api.js';
import { confirmDialog, h, icon, iconButton, parseTime, toast } from './dom.js';

const PAGE = 50;
const KIND_ICONS = { llm_chat: 'chat', agent_chat: 'bot', knowledge_base_chat: 'book' };

function dayGroup(value) {
  const date = parseTime(value);
  if (!date) return 'Older';
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const days = (today - new Date(date).setHours(0, 0, 0, 0)) / 86400000;
  if (days <= 0) return 'Today';
  if (days <= 1) return 'Yesterday';
  if (days <= 7) return 'Previous 7 days';
  if (days <= 30) return 'Previous 30 days';
  return 'Older';
}

export class ConversationList {
  constructor({ onDeleted, onRenamed }) {
    this.onDeleted = onDeleted;
    this.onRenamed = onRenamed;
    this.items = [];
    this.total = 0;
    this.query = '';
    this.activeId = null;
    this.search = h('input', { type: 'search', class: 'search-input', placeholder: 'Search conversations',
      'aria-label': 'Search conversations' });
    let timer = 0;
    this.search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.setQuery(this.search.value), 200);
    });
    this.search.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.search.value) {
        event.stopPropagation();
        this.search.value = '';
        this.setQuery('');
      }
    });
    this.list = h('nav', { class: 'conversations', 'aria-label': 'Conversations' });
    this.more = h('button', { type: 'button', class: 'link-btn load-more', text: 'Load more', hidden: true,
      onclick: () => this.load({ append: true }) });
    this.el = h('div', { class: 'conversation-panel' },
      h('label', { class: 'search' }, icon('search', 14), this.search), this.list, this.more);
  }

  setQuery(query) {
    this.query = query.trim();
    this.load();
  }

  visible(items) {
    const needle = this.query.toLowerCase();
    return needle ? items.filter((c) => (c.title || '').toLowerCase().includes(needle)) : items;
  }

  async load({ append = false } = {}) {
    const offset = append ? this.items.length : 0;
    const params = new URLSearchParams({ limit: PAGE, offset });
    if (this.query) params.set('q', this.query);
    if (!append && !this.items.length) this.list.replaceChildren(h('div', { class: 'list-note', text: 'Loading…' }));
    try {
      const page = await get(`/conversations?${params}`);
      this.items = append ? [...this.items, ...page.items] : page.items;
      this.total = page.total;
      this.render();
    } catch (error) {
      this.list.replaceChildren(h('div', { class: 'list-note error', text: `Could not load: ${error.message}` }));
    }
  }

  render() {
    const items = this.visible(this.items);
    this.more.hidden = this.items.length >= this.total;
    if (!items.length) {
      this.list.replaceChildren(h('div', { class: 'list-note', text: this.query
        ? `No conversation titled “${this.query}”.` : 'No conversations yet. Ask something to start one.' }));
      return;
    }
    const groups = new Map();
    for (const item of items) {
      const group = dayGroup(item.updated_at);
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(item);
    }
    this.list.replaceChildren(...[...groups].map(([label, group]) => h('div', { class: 'conv-group' },
      h('div', { class: 'conv-group-label', text: label }), group.map((c) => this.row(c)))));
  }

  row(conversation) {
    const title = conversation.title || 'New conversation';
    const link = h('a', { class: 'conv-link', href: `#/c/${conversation.id}`, title },
      icon(KIND_ICONS[conversation.chat_type] || 'chat', 14), h('span', { class: 'conv-title', text: title }));
    const row = h('div', { class: 'conv', dataset: { id: conversation.id },
      'aria-current': conversation.id === this.activeId ? 'page' : null },
      link,
      h('div', { class: 'conv-actions' },
        iconButton('edit', 'Rename', () => this.rename(conversation, row), { class: 'conv-rename', size: 14 }),
        iconButton('trash', 'Delete', () => this.remove(conversation), { class: 'conv-delete', size: 14 })));
    return row;
  }

  setActive(id) {
    this.activeId = id;
    for (const row of this.list.querySelectorAll('.conv')) {
      if (row.dataset.id === id) row.setAttribute('aria-current', 'page');
      else row.removeAttribute('aria-current');
    }
  }

  rename(conversation, row) {
    const input = h('input', { class: 'conv-edit', value: conversation.title || '', 'aria-label': 'New title',
      maxlength: 200 });
    let done = false;
    const finish = async (saveIt) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (saveIt && title && title !== conversation.title) {
        try {
          const updated = await patch(`/conversations/${encodeURIComponent(conversation.id)}`, { title });
          Object.assign(conversation, updated);
          this.onRenamed(conversation);
        } catch (error) {
          toast(`Rename failed: ${error.message}`, 'error');
        }
      }
      this.render();
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        finish(true);
      } else if (event.key === 'Escape') {
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener('blur', () => finish(true));
    row.replaceChildren(input);
    input.focus();
    input.select();
  }

  async remove(conversation) {
    const title = conversation.title || 'this conversation';
    if (!(await confirmDialog('Delete conversation?', `“${title}” and all its messages will be deleted.`))) return;
    try {
      await del(`/conversations/${encodeURIComponent(conversation.id)}`);
    } catch (error) {
      if (error.status !== 404) {
        toast(`Delete failed: ${error.message}`, 'error');
        return;
      }
    }
    this.items = this.items.filter((c) => c.id !== conversation.id);
    this.total = Math.max(0, this.total - 1);
    this.render();
    this.onDeleted(conversation.id);
  }
}
