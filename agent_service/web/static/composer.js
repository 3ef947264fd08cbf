// The composer: the message box and the choices sent with it (chat kind,
// model, knowledge base, the agent's tools, temperature). Choices persist.

import { $, h, icon } from './dom.js';
import { load, save } from './store.js';

const KINDS = [
  { id: 'llm_chat', label: 'Chat', icon: 'chat', hint: 'Message the model' },
  { id: 'agent_chat', label: 'Agent', icon: 'bot', hint: 'Ask the agent: it can call tools' },
  { id: 'knowledge_base_chat', label: 'Knowledge', icon: 'book', hint: 'Ask the knowledge base' },
];

export class Composer {
  constructor({ onSend, onStop }) {
    this.onSend = onSend;
    this.onStop = onStop;
    this.models = [];
    this.tools = [];
    this.bases = [];
    this.state = {
      kind: load('kind', 'llm_chat'),
      model: load('model', ''),
      kb: load('kb', ''),
      tools: load('tools', null), // null: every tool
      temperature: load('temperature', 0.7),
    };
    this.build();
  }

  build() {
    this.input = h('textarea', { class: 'composer-input', rows: 1, 'aria-label': 'Message',
      placeholder: 'Message…', autocomplete: 'off' });
    this.input.addEventListener('input', () => this.autosize());
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.kindButtons = KINDS.map((kind) => h('button', {
      type: 'button', role: 'radio', class: 'kind', dataset: { kind: kind.id }, title: kind.hint,
      onclick: () => this.setKind(kind.id),
    }, icon(kind.icon, 14), h('span', { text: kind.label })));
    this.modelSelect = h('select', { class: 'model-select', 'aria-label': 'Model',
      onchange: () => { this.set('model', this.modelSelect.value); this.showModel(); } });
    this.kbSelect = h('select', { class: 'kb-select', 'aria-label': 'Knowledge base',
      onchange: () => this.set('kb', this.kbSelect.value) });
    this.toolsSummary = h('summary', { class: 'chip' }, icon('tool', 14), h('span', { class: 'tools-count' }));
    this.toolsList = h('div', { class: 'popover-body tools-list' });
    this.toolsPicker = h('details', { class: 'popover tools-picker' }, this.toolsSummary, this.toolsList);
    this.temperature = h('input', { type: 'range', min: 0, max: 2, step: 0.1, value: this.state.temperature,
      'aria-label': 'Temperature' });
    this.temperatureValue = h('output', { class: 'temp-value', text: Number(this.state.temperature).toFixed(1) });
    this.temperature.addEventListener('input', () => {
      this.temperatureValue.textContent = Number(this.temperature.value).toFixed(1);
      this.set('temperature', Number(this.temperature.value));
    });
    this.sendButton = h('button', { type: 'submit', class: 'send-btn', title: 'Send (Enter)', 'aria-label': 'Send' },
      icon('send', 16));
    this.stopButton = h('button', { type: 'button', class: 'stop-btn', title: 'Stop (Esc)', 'aria-label': 'Stop',
      hidden: true, onclick: () => this.onStop() }, icon('stop', 14));
    this.el = h('form', { class: 'composer', onsubmit: (event) => { event.preventDefault(); this.submit(); } },
      h('div', { class: 'composer-box' },
        this.input,
        h('div', { class: 'composer-bar' },
          h('div', { class: 'kind-switch', role: 'radiogroup', 'aria-label': 'Chat kind' }, this.kindButtons),
          this.modelSelect,
          this.kbSelect,
          this.toolsPicker,
          h('label', { class: 'temp', title: 'Temperature' }, h('span', { text: 'Temp' }), this.temperature,
            this.temperatureValue),
          h('span', { class: 'spacer' }),
          this.stopButton,
          this.sendButton)),
      h('div', { class: 'composer-hint' }, this.modelNote = h('span', { class: 'model-note' }),
        h('span', { text: 'Enter to send · Shift+Enter for a new line' })));
    document.addEventListener('click', (event) => {
      if (!this.toolsPicker.contains(event.target)) this.toolsPicker.open = false;
    });
    this.setKind(this.state.kind);
  }

  set(name, value) {
    this.state[name] = value;
    save(name, value);
  }

  setKind(kind) {
    if (!KINDS.some((k) => k.id === kind)) kind = 'llm_chat';
    this.set('kind', kind);
    for (const button of this.kindButtons) {
      button.setAttribute('aria-checked', String(button.dataset.kind === kind));
    }
    this.kbSelect.hidden = kind !== 'knowledge_base_chat';
    this.toolsPicker.hidden = kind !== 'agent_chat';
    this.input.placeholder = `${KINDS.find((k) => k.id === kind).hint}…`;
    this.el.dataset.kind = kind;
  }

  setModels({ models, default: fallback }) {
    this.models = models;
    const names = models.map((m) => m.name);
    if (!names.includes(this.state.model)) this.set('model', fallback || names[0] || '');
    this.modelSelect.replaceChildren(...models.map((m) => h('option', { value: m.name,
      text: m.title && m.title !== m.name ? `${m.name} · ${m.title}` : m.name,
      title: `${m.provider}${m.model && m.model !== m.name ? `: ${m.model}` : ''}${m.default ? ' (default)' : ''}` })));
    this.modelSelect.value = this.state.model;
    this.showModel();
  }

  // Who answers: the embedded model is a small offline one, and the page says so.
  showModel() {
    const model = this.models.find((m) => m.name === this.state.model);
    const embedded = model && model.embedded;
    this.modelNote.replaceChildren(...(embedded ? [
      h('strong', { text: model.title }),
      h('span', { text: ` answers: a small offline model (${embedded.parameters} parameters) running on this machine. `
        + 'For real work, connect a real model: see “Connecting a real model” in the README. · ' })] : []));
    this.modelNote.hidden = !embedded;
  }

  setBases(bases) {
    this.bases = bases;
    const names = bases.map((b) => b.name);
    if (!names.includes(this.state.kb)) this.set('kb', names[0] || '');
    this.kbSelect.replaceChildren(...(bases.length
      ? bases.map((b) => h('option', { value: b.name, text: `${b.name} (${b.file_count} files)` }))
      : [h('option', { value: '', text: 'No knowledge base yet' })]));
    this.kbSelect.value = this.state.kb;
  }

  setTools(tools) {
    // A tool that cannot work here (a setting is missing) is listed, greyed out, and neither counted nor sent.
    const usable = (tool) => tool.available !== false;
    this.tools = tools.filter(usable);
    const names = this.tools.map((t) => t.name);
    if (Array.isArray(this.state.tools)) this.set('tools', this.state.tools.filter((n) => names.includes(n)));
    const allowed = (name) => this.state.tools === null || this.state.tools.includes(name);
    const boxes = tools.map((tool) => h('input', { type: 'checkbox', value: tool.name,
      checked: usable(tool) && allowed(tool.name), disabled: !usable(tool) }));
    const update = () => {
      const chosen = boxes.filter((b) => b.checked && !b.disabled).map((b) => b.value);
      this.set('tools', chosen.length === names.length ? null : chosen);
      this.showToolCount();
    };
    boxes.forEach((box) => box.addEventListener('change', update));
    const setAll = (checked) => () => { boxes.forEach((b) => (b.checked = checked && !b.disabled)); update(); };
    this.toolsList.replaceChildren(
      h('div', { class: 'popover-head' }, h('span', { text: 'Tools the agent may call' }),
        h('button', { type: 'button', class: 'link-btn', text: 'All', onclick: setAll(true) }),
        h('button', { type: 'button', class: 'link-btn', text: 'None', onclick: setAll(false) })),
      ...(tools.length ? [] : [h('p', { class: 'muted', text: 'No tools are loaded.' })]),
      ...tools.map((tool, i) => h('label', { class: `tool-option${usable(tool) ? '' : ' unavailable'}`,
        title: tool.unavailable_reason || tool.description || '' }, boxes[i],
        h('span', { class: 'tool-option-name', text: tool.name }),
        h('span', { class: 'tool-option-desc',
          text: usable(tool) ? (tool.description || '').split('\n')[0] : `Not available: ${tool.unavailable_reason}` }))));
    this.showToolCount();
  }

  showToolCount() {
    const total = this.tools.length;
    const chosen = this.state.tools === null ? total : this.state.tools.length;
    $('.tools-count', this.toolsSummary).textContent = chosen === total ? `Tools: all ${total}` : `Tools: ${chosen}/${total}`;
  }

  // The fields of the request body that come from the choices made here.
  requestFields() {
    const { kind, model, kb, tools, temperature } = this.state;
    const fields = { model_name: model || null, temperature };
    if (kind === 'agent_chat') fields.tools = tools;
    if (kind === 'knowledge_base_chat') fields.knowledge_base_name = kb;
    return fields;
  }

  // Follow an opened conversation: its kind, and the base and model its last answer used.
  // The lists may still be loading: their setters drop a choice that is not in them.
  follow({ kind, kb, model }) {
    this.setKind(kind);
    if (kb && (!this.bases.length || this.bases.some((b) => b.name === kb))) {
      this.set('kb', kb);
      this.kbSelect.value = kb;
    }
    if (model && (!this.models.length || this.models.some((m) => m.name === model))) {
      this.set('model', model);
      this.modelSelect.value = model;
    }
  }

  submit() {
    const text = this.input.value.trim();
    if (!text || this.busy) return;
    if (this.state.kind === 'knowledge_base_chat' && !this.state.kb) {
      this.onSend(null, 'Create a knowledge base first (Knowledge bases, in the sidebar).');
      return;
    }
    this.input.value = '';
    this.autosize();
    this.onSend(text);
  }

  setBusy(busy) {
    this.busy = busy;
    this.sendButton.hidden = busy;
    this.stopButton.hidden = !busy;
  }

  autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 240)}px`;
  }

  focus() {
    this.input.focus();
  }

  fill(text) {
    this.input.value = text;
    this.autosize();
    this.focus();
  }
}
