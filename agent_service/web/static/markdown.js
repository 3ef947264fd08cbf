// Markdown to safe HTML: marked parses, DOMPurify sanitizes, highlight.js colours
// code. The libraries are loaded lazily; if marked or DOMPurify cannot be
// loaded, text is shown as plain, escaped text (never unsanitized HTML).

import { copyText, h, icon } from './dom.js';

let markdown = null; // { marked, purify } once both have loaded
let hljs = null;

async function loadLibraries() {
  try {
    const [{ marked }, { default: purify }] = await Promise.all([
      import('./vendor/marked.esm.js'),
      import('./vendor/purify.es.mjs'),
    ]);
    purify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A' && node.getAttribute('href')) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
      // An image from elsewhere would be fetched the moment it is shown, and its address can carry
      // the conversation out (a reply or a document can hold one): it is named, not loaded.
      if (node.tagName === 'IMG' && !sameOrigin(node.getAttribute('src'))) {
        node.setAttribute('alt', `[image not loaded: ${node.getAttribute('src') || ''}]`);
        node.removeAttribute('src');
        node.removeAttribute('srcset');
        node.classList.add('blocked-image');
      }
    });
    markdown = { marked, purify };
  } catch (error) {
    console.warn('markdown libraries unavailable; showing plain text', error);
  }
  try {
    hljs = (await import('./vendor/highlight.min.js')).default;
    hljs.configure({ ignoreUnescapedHTML: true });
  } catch (error) {
    console.warn('highlight.js unavailable; code is not coloured', error);
  }
}

function sameOrigin(src) {
  if (!src) return false;
  if (src.startsWith('data:image/')) return true;
  try {
    return new URL(src, window.location.href).origin === window.location.origin;
  } catch {
    return false;
  }
}

export const ready = loadLibraries();

// Render `text` into `el`; `cite(n)` makes the element for citation [n], or null to leave it as text.
export function renderMarkdown(el, text, { cite = null } = {}) {
  if (!markdown) {
    el.classList.add('plain');
    el.textContent = text;
    return;
  }
  const html = markdown.purify.sanitize(markdown.marked.parse(text, { gfm: true, breaks: true }), {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'],
  });
  el.innerHTML = html;
  decorateCode(el);
  if (cite) linkCitations(el, cite);
}

function decorateCode(root) {
  for (const code of root.querySelectorAll('pre > code')) {
    const pre = code.parentElement;
    const language = (code.className.match(/language-([\w+#-]+)/) || [])[1] || '';
    if (hljs) {
      if (language && !hljs.getLanguage(language)) code.classList.add('nohighlight');
      hljs.highlightElement(code);
    }
    const copy = h('button', { type: 'button', class: 'code-copy', title: 'Copy code', 'aria-label': 'Copy code' },
      icon('copy', 14), h('span', { text: 'Copy' }));
    copy.addEventListener('click', async () => {
      await copyText(code.textContent.replace(/\n$/, ''));
      copy.lastChild.textContent = 'Copied';
      setTimeout(() => (copy.lastChild.textContent = 'Copy'), 1500);
    });
    const block = h('div', { class: 'code-block' },
      h('div', { class: 'code-head' }, h('span', { class: 'code-lang', text: language || 'code' }), copy));
    pre.before(block);
    block.append(pre);
  }
}

const CITATION = /\[(\d{1,3})\]/g;

function linkCitations(root, cite) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement.closest('pre, code, a') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const nodes = [];
  while (walker.nextNode()) if (/\[\d{1,3}\]/.test(walker.currentNode.data)) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const parts = [];
    let last = 0;
    for (const match of node.data.matchAll(CITATION)) {
      const link = cite(Number(match[1]));
      if (!link) continue;
      parts.push(node.data.slice(last, match.index), link);
      last = match.index + match[0].length;
    }
    if (!parts.length) continue;
    parts.push(node.data.slice(last));
    node.replaceWith(...parts);
  }
}
