// Messages as the chat shows them. An answer is built either from stream events
// (`handle`) or from a stored message (`AnswerView.fromStored`), and both end
// up looking the same: reasoning, tool cards, the answer, sources, actions.

import { apiKey, download, post } from './api.js';
import { copyText, h, icon, iconButton, toast } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { ToolCard } from './toolcard.js';

const KIND_LABELS = { llm_chat: 'Chat', agent_chat: 'Agent', knowledge_base_chat: 'Knowledge base' };

export function userMessage(text) {
  return h('article', { class: 'msg user' }, h('div', { class: 'bubble', text }));
}

const NOTES = {
  interrupted: 'Stopped before the answer was complete.',
  stopped: 'Stopped before the answer was complete.',
  length: 'Cut short: the answer reached its length limit.',
  max_iterations: 'The agent stopped at its step limit before finishing.',
};

export class AnswerView {
  constructor({ kind, model = '' }) {
    this.kind = kind;
    this.messageId = '';
    this.lastSeq = -1; // the last event shown: a resumed stream starts after it
    this.answer = ''; // the text shown as the answer
    this.transcript = ''; // everything the agent's model wrote, all steps
    this.step = null;
    this.stepText = '';
    this.cards = new Map();
    this.sources = null;
    this.frame = 0;

    this.meta = h('div', { class: 'msg-meta' },
      h('span', { class: 'msg-kind', text: KIND_LABELS[kind] || 'Chat' }),
      h('span', { class: 'msg-model', text: model }));
    this.reasoning = h('details', { class: 'reasoning', hidden: true },
      h('summary', { text: 'Reasoning' }), h('pre', { class: 'reasoning-text' }));
    this.trace = h('div', { class: 'trace' });
    this.body = h('div', { class: 'answer markdown' });
    this.typing = h('div', { class: 'typing', 'aria-label': 'waiting for the answer' }, h('i'), h('i'), h('i'));
    this.error = h('div', { class: 'msg-error', role: 'alert', hidden: true });
    this.note = h('div', { class: 'msg-note', hidden: true });
    this.sourcesPanel = h('section', { class: 'sources', hidden: true });
    this.feedback = {
      up: iconButton('up', 'Good answer', () => this.rate(100), { class: 'feedback-up', 'aria-pressed': 'false' }),
      down: iconButton('down', 'Bad answer', () => this.rate(0), { class: 'feedback-down', 'aria-pressed': 'false' }),
    };
    this.copyButton = iconButton('copy', 'Copy answer', () => this.copy(), { class: 'copy-answer' });
    this.actions = h('div', { class: 'msg-actions', hidden: true }, this.copyButton, this.feedback.up, this.feedback.down);
    this.el = h('article', { class: 'msg assistant streaming', dataset: { kind } },
      h('div', { class: 'avatar', 'aria-hidden': 'true' }, icon(kind === 'agent_chat' ? 'bot' : 'chat', 16)),
      h('div', { class: 'msg-main' },
        this.meta, this.reasoning, this.trace, this.body, this.typing, this.error, this.note, this.sourcesPanel,
        this.actions));
  }

  // --- stream events -----------------------------------------------------------------

  handle(event) {
    if (event.seq <= this.lastSeq) return; // already shown (a resumed stream may repeat nothing, but be sure)
    if (event.seq !== undefined) this.lastSeq = event.seq;
    switch (event.type) {
      case 'metadata':
        this.messageId = event.message_id;
        this.el.dataset.messageId = event.message_id;
        if (event.model) this.meta.querySelector('.msg-model').textContent = event.model;
        break;
      case 'token':
        this.started();
        if (this.kind === 'agent_chat') {
          if (event.step !== this.step) {
            this.step = event.step;
            this.stepText = '';
          }
          this.stepText += event.text;
          this.transcript += event.text;
          this.answer = this.stepText;
        } else {
          this.answer += event.text;
        }
        this.scheduleRender();
        break;
      case 'tool_start': {
        this.started();
        // What the model wrote before calling a tool was its reasoning, not the answer.
        this.showReasoning(this.transcript);
        this.answer = this.stepText = '';
        this.scheduleRender();
        const card = new ToolCard({ tool: event.tool, input: event.input, runId: event.run_id });
        this.cards.set(event.run_id, card);
        this.trace.append(card.el);
        break;
      }
      case 'tool_approval':
        this.cardFor(event).askApproval(this.messageId, event.run_id);
        break;
      case 'tool_end':
        this.cardFor(event).finish(event);
        break;
      case 'tool_error':
        this.cardFor(event).fail(event);
        break;
      case 'docs':
        this.started();
        this.showSources(event.sources || []);
        break;
      case 'final_answer':
        this.answer = event.text;
        this.showReasoning(this.transcript);
        this.scheduleRender();
        break;
      case 'error':
        this.showError(event.message || event.msg || 'the answer failed');
        break;
      case 'done':
        this.finish({ status: event.status, finishReason: event.finish_reason });
        break;
      default:
        break;
    }
  }

  cardFor(event) {
    let card = this.cards.get(event.run_id);
    if (!card) {
      card = new ToolCard({ tool: event.tool, input: '', runId: event.run_id });
      this.cards.set(event.run_id, card);
      this.trace.append(card.el);
    }
    return card;
  }

  started() {
    this.typing.hidden = true;
  }

  scheduleRender() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render() {
    renderMarkdown(this.body, this.answer, { cite: this.sources ? (n) => this.citation(n) : null });
    this.body.hidden = !this.answer;
    this.el.dispatchEvent(new CustomEvent('rendered', { bubbles: true }));
  }

  showReasoning(text) {
    const shown = text.trim() && text.trim() !== this.answer.trim();
    this.reasoning.hidden = !shown;
    this.reasoning.querySelector('pre').textContent = shown ? text.trim() : '';
  }

  showError(message) {
    this.started();
    this.error.replaceChildren(icon('alert', 14), h('span', { text: message }));
    this.error.hidden = false;
  }

  // The stream ended (or the stored message is complete): final state and actions.
  finish({ status, finishReason, stopped = false }) {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.render();
    this.started();
    this.el.classList.remove('streaming');
    this.el.classList.add(`status-${stopped ? 'interrupted' : status || 'complete'}`);
    for (const card of this.cards.values()) {
      if (card.el.classList.contains('running')) card.fail({ error: 'the run ended before the tool did' });
    }
    const note = stopped ? NOTES.interrupted : NOTES[finishReason] || NOTES[status];
    if (note && status !== 'error') {
      this.note.textContent = note;
      this.note.hidden = false;
    }
    if (!this.answer && !this.cards.size && status !== 'error' && !stopped) {
      this.body.hidden = false;
      this.body.replaceChildren(h('p', { class: 'muted', text: '(no answer)' }));
    }
    this.actions.hidden = !this.messageId;
  }

  // --- sources -----------------------------------------------------------------------

  showSources(sources) {
    this.sources = sources;
    this.sourcesPanel.hidden = false;
    if (!sources.length) {
      this.sourcesPanel.replaceChildren(h('div', { class: 'sources-empty',
        text: 'No matching documents were found in the knowledge base; this answer is the model’s own.' }));
      return;
    }
    const list = h('ol', { class: 'source-list' }, sources.map((source) => this.sourceItem(source)));
    this.sourcesPanel.replaceChildren(
      h('div', { class: 'sources-head' }, icon('book', 14), h('span', { text: `Sources (${sources.length})` })), list);
  }

  sourceItem(source) {
    const file = source.url
      ? h('a', { class: 'source-file', href: source.url, download: source.file, text: source.file })
      : h('span', { class: 'source-file', text: source.file });
    if (source.url) {
      file.addEventListener('click', (event) => {
        if (!apiKey()) return; // no auth: the plain link works
        event.preventDefault();
        download(source.url, source.file).catch((error) => toast(error.message, 'error'));
      });
    }
    const where = [source.page ? `page ${source.page}` : '', source.headings ? String(source.headings) : '']
      .filter(Boolean).join(' · ');
    return h('li', { class: 'source', dataset: { index: source.index } },
      h('div', { class: 'source-head' },
        h('span', { class: 'source-index', text: `[${source.index}]` }),
        icon('file', 14), file,
        where ? h('span', { class: 'source-where', text: where }) : null,
        h('span', { class: 'source-score', title: 'relevance, 0 to 1', text: `score ${Number(source.score).toFixed(2)}` })),
      h('p', { class: 'source-snippet', text: (source.snippet || '').replace(/\n{2,}/g, '\n') }));
  }

  citation(n) {
    const source = this.sources?.find((s) => s.index === n);
    if (!source) return null;
    return h('button', { type: 'button', class: 'cite', title: source.file, 'aria-label': `Source ${n}: ${source.file}`,
      text: String(n), onclick: () => this.highlightSource(n) });
  }

  highlightSource(n) {
    const item = this.sourcesPanel.querySelector(`.source[data-index="${n}"]`);
    if (!item) return;
    item.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    item.classList.remove('flash');
    void item.offsetWidth; // restart the animation
    item.classList.add('flash');
  }

  // --- actions -----------------------------------------------------------------------

  async copy() {
    await copyText(this.answer);
    this.copyButton.replaceChildren(icon('check', 16));
    setTimeout(() => this.copyButton.replaceChildren(icon('copy', 16)), 1500);
  }

  async rate(score) {
    if (!this.messageId) return;
    try {
      await post('/chat/feedback', { message_id: this.messageId, score });
      this.showRating(score);
      toast('Thanks for the feedback');
    } catch (error) {
      toast(`Feedback not saved: ${error.message}`, 'error');
    }
  }

  showRating(score) {
    const up = score != null && score >= 50;
    const down = score != null && score < 50;
    this.feedback.up.setAttribute('aria-pressed', String(up));
    this.feedback.down.setAttribute('aria-pressed', String(down));
  }

  // --- a stored message --------------------------------------------------------------

  // An answer still being written: empty until its events are replayed into it.
  static following(message, kind) {
    const view = new AnswerView({ kind, model: message.model || '' });
    view.messageId = message.id;
    view.el.dataset.messageId = message.id;
    return view;
  }

  static fromStored(message, kind) {
    const meta = message.metadata || {};
    const view = new AnswerView({ kind, model: message.model || '' });
    view.handle({ type: 'metadata', message_id: message.id, model: message.model });
    for (const call of message.tool_calls || []) {
      const card = ToolCard.fromStored(call);
      view.cards.set(call.run_id || `#${call.position}`, card);
      view.trace.append(card.el);
    }
    if (Array.isArray(meta.sources)) view.showSources(meta.sources);
    view.answer = message.content || '';
    if (kind === 'agent_chat' && meta.transcript) view.showReasoning(meta.transcript);
    if (message.status === 'error') view.showError(meta.error || 'the answer failed');
    view.finish({ status: message.status, finishReason: meta.finish_reason });
    view.showRating(message.feedback_score);
    return view;
  }
}
