// A tool call as a card: running (spinner) at tool_start, Approve and Deny
// buttons while it waits for a person (tool_approval), filled at tool_end
// with input, output and elapsed time, red at tool_error. Built from stream
// events, or from a stored call after a reload.

import { post } from './api.js';
import { formatMs, h, icon, parseTime, toast } from './dom.js';

const LONG_LINES = 8;
const LONG_CHARS = 600;

// Short JSON stays on one line; longer JSON is indented.
function asText(value) {
  if (value == null) return '';
  if (typeof value === 'string') return value;
  const compact = JSON.stringify(value);
  return compact.length <= 80 ? compact : JSON.stringify(value, null, 2);
}

// One line: `expression: 2**10 + 3` for a single argument, compact JSON otherwise.
function summary(input) {
  let text;
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    const entries = Object.entries(input);
    text = entries.length === 1 && typeof entries[0][1] !== 'object'
      ? String(entries[0][1])
      : JSON.stringify(input);
  } else {
    text = asText(input);
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > 90 ? `${text.slice(0, 89)}…` : text;
}

function block(label, text, kind) {
  const pre = h('pre', { class: `tool-${kind}`, text });
  const section = h('div', { class: 'tool-section' }, h('div', { class: 'tool-label', text: label }), pre);
  const lines = text.split('\n').length;
  if (lines > LONG_LINES || text.length > LONG_CHARS) {
    pre.classList.add('clamped');
    const more = `Show all (${lines} lines, ${text.length} chars)`;
    const toggle = h('button', { type: 'button', class: 'link-btn tool-more', text: more });
    toggle.addEventListener('click', () => {
      const clamped = pre.classList.toggle('clamped');
      toggle.textContent = clamped ? more : 'Show less';
    });
    section.append(toggle);
  }
  return section;
}

export class ToolCard {
  constructor({ tool, input, runId }) {
    this.input = input;
    this.status = h('span', { class: 'tool-status', 'aria-label': 'running' }, h('span', { class: 'spinner' }));
    this.time = h('span', { class: 'tool-time', text: 'running…' });
    this.body = h('div', { class: 'tool-body' }, block('Input', asText(input) || '(none)', 'input'));
    this.head = h('button', { type: 'button', class: 'tool-head', 'aria-expanded': 'true' },
      this.status,
      h('span', { class: 'tool-icon' }, icon('tool', 14)),
      h('span', { class: 'tool-name', text: tool }),
      h('span', { class: 'tool-args', text: summary(input) }),
      this.time,
      h('span', { class: 'tool-chevron' }, icon('chevron', 14)));
    this.head.addEventListener('click', () => {
      const open = this.el.classList.toggle('collapsed') === false;
      this.head.setAttribute('aria-expanded', String(open));
    });
    this.el = h('div', { class: 'tool-card running', dataset: { runId: runId || '', tool } }, this.head, this.body);
  }

  // The call waits for a person: Approve or Deny answers it for every tab that shows it.
  askApproval(messageId, runId) {
    const path = (verb) => `/chat/messages/${encodeURIComponent(messageId)}/tool_calls/${encodeURIComponent(runId)}/${verb}`;
    const answer = async (verb, body) => {
      for (const button of this.approval.querySelectorAll('button')) button.disabled = true;
      try {
        await post(path(verb), body);
        this.approval.querySelector('.approval-note').textContent = verb === 'approve' ? 'Approved' : 'Denied';
      } catch (error) {
        toast(error.message, 'error');
        for (const button of this.approval.querySelectorAll('button')) button.disabled = false;
      }
    };
    this.approval = h('div', { class: 'tool-approval', role: 'group', 'aria-label': 'This call needs your approval' },
      h('span', { class: 'approval-note', text: 'Waiting for your approval' }),
      h('button', { type: 'button', class: 'btn approve-btn', text: 'Approve', onclick: () => answer('approve') }),
      h('button', { type: 'button', class: 'btn deny-btn', text: 'Deny', onclick: () => answer('deny') }));
    this.el.classList.add('waiting');
    this.time.textContent = 'waiting…';
    this.body.append(this.approval);
  }

  answered() {
    this.approval?.remove();
    this.el.classList.remove('waiting');
  }

  finish({ output, elapsed_ms: elapsed }) {
    this.answered();
    this.el.classList.replace('running', 'done');
    this.status.replaceChildren(icon('check', 14));
    this.status.setAttribute('aria-label', 'done');
    this.time.textContent = formatMs(elapsed);
    this.body.append(block('Output', asText(output) || '(empty)', 'output'));
  }

  fail({ error, elapsed_ms: elapsed }) {
    this.answered();
    this.el.classList.remove('running', 'done');
    this.el.classList.add('error');
    this.status.replaceChildren(icon('x', 14));
    this.status.setAttribute('aria-label', 'failed');
    this.time.textContent = elapsed != null ? formatMs(elapsed) : 'failed';
    this.body.append(block('Error', error || 'failed', 'error'));
  }

  static fromStored(call) {
    const card = new ToolCard({ tool: call.tool, input: call.input, runId: call.run_id });
    const started = parseTime(call.started_at);
    const ended = parseTime(call.ended_at);
    const elapsed = started && ended ? ended - started : null;
    if (call.error != null) card.fail({ error: call.error, elapsed_ms: elapsed });
    else if (call.output != null) card.finish({ output: call.output, elapsed_ms: elapsed });
    else card.fail({ error: 'no result was recorded', elapsed_ms: elapsed });
    return card;
  }
}
