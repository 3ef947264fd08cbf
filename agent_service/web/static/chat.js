// The chat: the open conversation's messages, sending a turn and showing its
// stream, stopping it, and opening a stored conversation.

import { ApiError, answerEvents, get, post, stream } from './api.js';
import { h, icon, toast } from './dom.js';
import { AnswerView, userMessage } from './message.js';

const ROUTES = {
  llm_chat: '/chat/chat',
  agent_chat: '/chat/agent_chat',
  knowledge_base_chat: '/chat/knowledge_base_chat',
};
const HISTORY_LEN = 10;
const RESUME_ATTEMPTS = 5; // a dropped stream is resumed this many times before the page gives up
const LIVE = new Set(['streaming', 'requires_action']); // answers still being written

const SUGGESTIONS = {
  llm_chat: ['Explain recursion with a short Python example', 'Write a haiku about databases'],
  agent_chat: ['What is 2**10 + 3?', 'What time is it in Tokyo?', 'Convert 5 miles to kilometres'],
  knowledge_base_chat: ['Which port does agent-service use?', 'How do I add a tool?'],
};

export class ChatView {
  constructor({ composer, onConversation }) {
    this.composer = composer;
    this.onConversation = onConversation; // (id, {created}) when the open conversation changes
    this.conversationId = null;
    this.controller = null;
    this.list = h('div', { class: 'messages-inner' });
    this.scroller = h('div', { class: 'messages', tabindex: '-1' }, this.list);
    this.jump = h('button', { type: 'button', class: 'jump-btn', hidden: true, title: 'Scroll to the latest',
      'aria-label': 'Scroll to the latest', onclick: () => this.scrollToEnd(true) }, icon('chevron', 16));
    this.scroller.addEventListener('scroll', () => {
      this.jump.hidden = this.nearEnd();
    });
    this.scroller.addEventListener('rendered', () => this.follow());
    this.el = h('div', { class: 'chat' }, this.scroller, this.jump);
    this.showEmpty();
  }

  get streaming() {
    return this.controller !== null;
  }

  nearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToEnd(smooth = false) {
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
  }

  // Keep the newest text in view while it streams, unless the person scrolled up.
  follow() {
    if (this.sticky) this.scrollToEnd();
  }

  showEmpty() {
    const kind = this.composer.state.kind;
    const chips = (SUGGESTIONS[kind] || []).map((text) => h('button', { type: 'button', class: 'suggestion', text,
      onclick: () => { this.composer.fill(text); this.composer.submit(); } }));
    this.list.replaceChildren(h('div', { class: 'empty-chat' },
      h('div', { class: 'empty-logo' }, icon('bot', 28)),
      h('h1', { text: 'What can I help with?' }),
      h('p', { class: 'muted', text: 'Chat with a model, let the agent call tools — every call shows as it happens — '
        + 'or ask your knowledge bases and get answers with sources.' }),
      h('div', { class: 'suggestions' }, chips)));
  }

  refreshEmpty() {
    if (this.list.querySelector('.empty-chat')) this.showEmpty();
  }

  newChat() {
    this.detach();
    this.conversationId = null;
    this.showEmpty();
    this.composer.focus();
  }

  async open(id) {
    if (id === this.conversationId && !this.list.querySelector('.empty-chat, .load-error')) return;
    this.detach();
    this.conversationId = id;
    this.title = '';
    this.list.replaceChildren(h('div', { class: 'loading' }, h('span', { class: 'spinner' }), ' Loading…'));
    try {
      const [conversation, messages] = await Promise.all([
        get(`/conversations/${encodeURIComponent(id)}`),
        get(`/conversations/${encodeURIComponent(id)}/messages`),
      ]);
      if (this.conversationId !== id) return;
      this.show(conversation, messages);
    } catch (error) {
      if (this.conversationId !== id) return;
      this.list.replaceChildren(h('div', { class: 'load-error', role: 'alert' },
        icon('alert', 18), h('span', { text: `This conversation could not be loaded: ${error.message}` })));
    }
  }

  show(conversation, messages) {
    const kind = conversation.chat_type;
    this.title = conversation.title;
    this.list.replaceChildren();
    let last = null;
    let live = null;
    for (const message of messages) {
      if (message.role === 'user') this.list.append(userMessage(message.content));
      else if (message.role === 'assistant') {
        last = message;
        const view = LIVE.has(message.status) ? AnswerView.following(message, kind) : AnswerView.fromStored(message, kind);
        if (LIVE.has(message.status)) live = view;
        this.list.append(view.el);
      }
    }
    if (!messages.length) this.list.append(h('p', { class: 'muted center', text: 'No messages yet.' }));
    this.composer.follow({ kind, kb: last?.metadata?.knowledge_base, model: last?.model });
    requestAnimationFrame(() => this.scrollToEnd());
    if (live) this.attach(live);
  }

  async send(text) {
    const kind = this.composer.state.kind;
    if (!this.conversationId || this.list.querySelector('.empty-chat, .load-error')) this.list.replaceChildren();
    this.list.querySelector('.muted.center')?.remove();
    const view = new AnswerView({ kind, model: this.composer.state.model });
    this.list.append(userMessage(text), view.el);
    this.sticky = true;
    this.scrollToEnd();
    // The answer outlives this connection: a reload or a dropped line re-attaches to it.
    const body = { query: text, stream: true, on_disconnect: 'continue', ...this.composer.requestFields() };
    if (this.conversationId) Object.assign(body, { conversation_id: this.conversationId, history_len: HISTORY_LEN });
    await this.consume(view, (signal) => stream(ROUTES[kind], body, signal));
  }

  // Follow a stored answer that is still being written (after a reload, or from another tab).
  attach(view) {
    this.consume(view, (signal) => answerEvents(view.messageId, view.lastSeq, signal));
  }

  // Show a stream's events in `view` until `done`; a connection that drops is
  // replaced by one that resumes after the last event shown.
  async consume(view, open) {
    const controller = new AbortController();
    this.controller = controller;
    this.composer.setBusy(true);
    const stickyWatch = () => (this.sticky = this.nearEnd());
    this.scroller.addEventListener('wheel', stickyWatch, { passive: true });
    this.scroller.addEventListener('touchmove', stickyWatch, { passive: true });
    let ended = false;
    try {
      for (let attempt = 0; !ended; attempt += 1) {
        try {
          for await (const event of open(controller.signal)) {
            if (event.type === 'metadata' && event.conversation_id !== this.conversationId) {
              const created = !this.conversationId;
              this.conversationId = event.conversation_id;
              this.onConversation(event.conversation_id, { created });
            }
            view.handle(event);
            if (event.type === 'metadata' && this.stopWanted) this.stop();
            if (event.type === 'done') ended = true;
          }
        } catch (error) {
          if (controller.signal.aborted) return; // detached: the answer goes on without this page
          if (error instanceof ApiError && error.status) {
            view.showError(error.message || 'The request failed.');
            view.finish({ status: 'error' });
            return;
          }
        }
        if (ended) break;
        if (!view.messageId || attempt >= RESUME_ATTEMPTS) {
          view.showError('The connection closed before the answer was complete.');
          view.finish({ status: 'error' });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 300 * (attempt + 1)));
        open = (signal) => answerEvents(view.messageId, view.lastSeq, signal);
      }
    } finally {
      this.scroller.removeEventListener('wheel', stickyWatch);
      this.scroller.removeEventListener('touchmove', stickyWatch);
      if (this.controller === controller) {
        this.controller = null;
        this.live = null;
        this.stopWanted = false;
        this.composer.setBusy(false);
      }
      this.follow();
      this.onConversation(this.conversationId, { finished: true });
    }
  }

  // Stop the answer on the server, for every tab that shows it; the stream ends with its `done`.
  stop() {
    if (!this.controller) return;
    const messageId = this.list.querySelector('.msg.assistant.streaming')?.dataset.messageId;
    if (!messageId) {
      this.stopWanted = true; // as soon as the answer has an id
      return;
    }
    post(`/chat/messages/${encodeURIComponent(messageId)}/stop`).catch((error) => toast(error.message, 'error'));
  }

  // Stop showing the stream; the answer itself goes on and is there when the conversation is opened again.
  detach() {
    if (!this.controller) return;
    this.controller.abort();
    this.controller = null;
    this.stopWanted = false;
    this.composer.setBusy(false);
  }

  // A problem found before sending (e.g. no knowledge base chosen).
  notice(message) {
    toast(message, 'error');
  }
}
