// The knowledge-base page: create and describe bases, upload files with
// progress, list files with their status and chunk counts, delete, reindex
// with progress, and try a search.

import { apiKey, del, download, get, patch, post, stream, upload } from './api.js';
import { $, confirmDialog, formatBytes, h, icon, iconButton, modal, relativeTime, toast } from './dom.js';

const enc = encodeURIComponent;

function progressBar() {
  const bar = h('div', { class: 'progress-fill' });
  const label = h('div', { class: 'progress-label' });
  const el = h('div', { class: 'progress' }, h('div', { class: 'progress-track' }, bar), label);
  return {
    el,
    set(fraction, text) {
      bar.style.width = `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`;
      label.textContent = text;
    },
  };
}

function resultLine(result) {
  const text = result.status === 'indexed'
    ? `${result.name}: indexed, ${result.chunk_count} chunks`
    : `${result.name}: ${result.status}${result.reason ? ` (${result.reason})` : ''}`;
  return h('li', { class: `result ${result.status}`, text });
}

export class KnowledgePage {
  constructor({ onBasesChanged }) {
    this.onBasesChanged = onBasesChanged;
    this.bases = [];
    this.current = null;
    this.list = h('div', { class: 'kb-list' });
    this.detail = h('div', { class: 'kb-detail' });
    this.el = h('section', { class: 'kb-page' },
      h('header', { class: 'page-head' },
        h('div', {}, h('h1', { text: 'Knowledge bases' }),
          h('p', { class: 'muted', text: 'Collections of your documents that the chat can answer from, with sources.' })),
        h('button', { type: 'button', class: 'btn primary new-kb', onclick: () => this.create() },
          icon('plus', 16), h('span', { text: 'New knowledge base' }))),
      h('div', { class: 'kb-layout' }, this.list, this.detail));
  }

  async show(name) {
    await this.loadBases();
    const base = name ? this.bases.find((b) => b.name === name) : null;
    this.el.classList.toggle('has-detail', Boolean(base));
    if (name && !base) toast(`No knowledge base named ${name}`, 'error');
    this.current = base?.name || null;
    this.renderList();
    if (base) await this.renderDetail(base);
    else this.detail.replaceChildren(h('div', { class: 'empty-detail muted' }, icon('book', 28),
      h('p', { text: this.bases.length ? 'Choose a knowledge base to manage its files.'
        : 'No knowledge base yet. Create one, then upload files to it.' })));
  }

  async loadBases() {
    try {
      this.bases = await get('/knowledge_bases');
      this.onBasesChanged(this.bases);
    } catch (error) {
      this.list.replaceChildren(h('div', { class: 'list-note error', text: `Could not load: ${error.message}` }));
    }
  }

  renderList() {
    this.list.replaceChildren(...this.bases.map((base) => h('a', {
      class: 'kb-card', href: `#/kb/${enc(base.name)}`, dataset: { name: base.name },
      'aria-current': base.name === this.current ? 'page' : null,
    },
    h('div', { class: 'kb-card-name' }, icon('book', 14), h('span', { text: base.name })),
    h('div', { class: 'kb-card-desc', text: base.description || 'No description' }),
    h('div', { class: 'kb-card-stats', text: `${base.file_count} files · ${base.chunk_count} chunks` }))));
  }

  async create() {
    const name = h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'e.g. manuals',
      pattern: '[^\\/\\\\]+', autocomplete: 'off' });
    const description = h('textarea', { name: 'description', rows: 3,
      placeholder: 'What is in it?' });
    const values = await modal({
      title: 'New knowledge base',
      confirm: 'Create',
      body: [h('label', { class: 'field' }, h('span', { text: 'Name' }), name),
        h('label', { class: 'field' }, h('span', { text: 'Description' }), description)],
      values: () => ({ name: name.value.trim(), description: description.value.trim() }),
    });
    if (!values?.name) return;
    try {
      await post('/knowledge_bases', values);
      toast(`Created ${values.name}`);
      location.hash = `#/kb/${enc(values.name)}`;
    } catch (error) {
      toast(`Could not create it: ${error.message}`, 'error');
    }
  }

  async renderDetail(base) {
    const path = `/knowledge_bases/${enc(base.name)}`;
    this.files = h('div', { class: 'kb-files' });
    this.activity = h('div', { class: 'kb-activity' });
    const description = h('textarea', { class: 'kb-description', rows: 2, value: base.description,
      'aria-label': 'Description', placeholder: 'Describe what this knowledge base holds' });
    const saveDescription = h('button', { type: 'button', class: 'btn small', text: 'Save description', hidden: true });
    description.addEventListener('input', () => (saveDescription.hidden = description.value === base.description));
    saveDescription.addEventListener('click', async () => {
      try {
        Object.assign(base, await patch(path, { description: description.value }));
        saveDescription.hidden = true;
        toast('Description saved');
      } catch (error) {
        toast(`Not saved: ${error.message}`, 'error');
      }
    });

    const picker = h('input', { type: 'file', multiple: true, class: 'file-input', 'aria-label': 'Files to upload' });
    const override = h('input', { type: 'checkbox', name: 'override' });
    const chunkSize = h('input', { type: 'number', min: 50, max: 10000, value: 500, class: 'num' });
    const chunkOverlap = h('input', { type: 'number', min: 0, max: 5000, value: 50, class: 'num' });
    const options = () => ({ override: override.checked, chunkSize: chunkSize.value, chunkOverlap: chunkOverlap.value });
    picker.addEventListener('change', () => {
      if (picker.files.length) this.upload(base, [...picker.files], options());
      picker.value = '';
    });
    const drop = h('label', { class: 'dropzone' }, picker, icon('upload', 22),
      h('span', { class: 'dropzone-text', text: 'Drop files here or click to choose' }),
      h('span', { class: 'muted small', text: 'txt, md, pdf, docx, html, csv, json, jsonl' }));
    for (const type of ['dragenter', 'dragover']) {
      drop.addEventListener(type, (event) => {
        event.preventDefault();
        drop.classList.add('over');
      });
    }
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (event) => {
      event.preventDefault();
      drop.classList.remove('over');
      if (event.dataTransfer.files.length) this.upload(base, [...event.dataTransfer.files], options());
    });

    this.detail.replaceChildren(
      h('a', { class: 'back-link', href: '#/kb', text: '← All knowledge bases' }),
      h('div', { class: 'kb-head' },
        h('div', {}, h('h2', { class: 'kb-name', text: base.name }),
          h('div', { class: 'muted small kb-stats',
            text: `${base.file_count} files · ${base.chunk_count} chunks · embeddings: ${base.embedding_model}` })),
        h('div', { class: 'kb-head-actions' },
          h('button', { type: 'button', class: 'btn reindex', onclick: () => this.reindex(base) },
            icon('refresh', 14), h('span', { text: 'Reindex' })),
          h('button', { type: 'button', class: 'btn danger-outline delete-kb', onclick: () => this.remove(base) },
            icon('trash', 14), h('span', { text: 'Delete' })))),
      h('div', { class: 'kb-desc-row' }, description, saveDescription),
      drop,
      h('details', { class: 'upload-options' }, h('summary', { text: 'Upload options' }),
        h('label', { class: 'inline' }, override, h('span', { text: 'Replace files with the same content' })),
        h('label', { class: 'inline' }, h('span', { text: 'Chunk size' }), chunkSize),
        h('label', { class: 'inline' }, h('span', { text: 'Overlap' }), chunkOverlap)),
      this.activity,
      h('h3', { text: 'Files' }),
      this.files,
      h('h3', { text: 'Test retrieval' }),
      this.searchBox(base));
    await this.loadFiles(base);
  }

  async loadFiles(base) {
    const path = `/knowledge_bases/${enc(base.name)}`;
    let files;
    try {
      files = await get(`${path}/files`);
    } catch (error) {
      this.files.replaceChildren(h('div', { class: 'list-note error', text: `Could not load files: ${error.message}` }));
      return;
    }
    if (!files.length) {
      this.files.replaceChildren(h('div', { class: 'list-note', text: 'No files yet: upload some above.' }));
      return;
    }
    // Files another client (or the start-up indexing) is still indexing: look again shortly.
    if (files.some((file) => file.status === 'indexing')) {
      const shown = this.files;
      setTimeout(() => shown.isConnected && this.current === base.name && this.loadFiles(base), 2000);
    }
    const rows = files.map((file) => {
      const url = `${path}/files/${enc(file.name)}`;
      const link = h('a', { href: url, download: file.name, class: 'file-name', text: file.name });
      link.addEventListener('click', (event) => {
        if (!apiKey()) return;
        event.preventDefault();
        download(url, file.name).catch((error) => toast(error.message, 'error'));
      });
      return h('tr', { class: 'file-row', dataset: { name: file.name } },
        h('td', {}, link, file.error ? h('div', { class: 'file-error small', text: file.error }) : null),
        h('td', {}, h('span', { class: `badge ${file.status}`, text: file.status })),
        h('td', { class: 'num chunks', text: String(file.chunk_count) }),
        h('td', { class: 'num', text: formatBytes(file.size) }),
        h('td', { class: 'muted', text: relativeTime(file.updated_at) }),
        h('td', {}, iconButton('trash', `Delete ${file.name}`, () => this.removeFile(base, file), { class: 'file-delete' })));
    });
    this.files.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { class: 'files-table' },
      h('thead', {}, h('tr', {}, ['File', 'Status', 'Chunks', 'Size', 'Updated', ''].map((t) => h('th', { text: t })))),
      h('tbody', {}, rows))));
  }

  // Upload, then index: one progress bar for both (the server streams indexing progress).
  async upload(base, files, { override, chunkSize, chunkOverlap }) {
    const form = new FormData();
    for (const file of files) form.append('files', file, file.name);
    form.append('override', String(override));
    form.append('chunk_size', chunkSize);
    form.append('chunk_overlap', chunkOverlap);
    form.append('stream', 'true');
    const names = files.map((f) => f.name).join(', ');
    const bar = progressBar();
    const results = h('ul', { class: 'results' });
    const job = h('div', { class: 'job' }, h('div', { class: 'job-title', text: `Uploading ${names}` }), bar.el, results);
    this.activity.prepend(job);
    bar.set(0, 'Uploading… 0%');
    try {
      await upload(`/knowledge_bases/${enc(base.name)}/files`, form, {
        onUpload: (fraction) => bar.set(fraction * 0.3, `Uploading… ${Math.round(fraction * 100)}%`),
        onEvent: (event) => {
          if (event.type === 'progress') {
            const fraction = event.total ? event.done / event.total : 0;
            bar.set(0.3 + 0.7 * fraction, `Indexing ${event.current_file}: ${event.done} / ${event.total} chunks`);
          } else if (event.type === 'done') {
            bar.set(1, 'Done');
            results.replaceChildren(...event.results.map(resultLine));
          }
        },
      });
      job.classList.add('finished');
    } catch (error) {
      job.classList.add('failed');
      bar.set(1, `Failed: ${error.message}`);
    }
    await this.refresh(base);
  }

  async reindex(base) {
    const bar = progressBar();
    const job = h('div', { class: 'job' }, h('div', { class: 'job-title', text: `Reindexing ${base.name}` }), bar.el);
    this.activity.prepend(job);
    bar.set(0, 'Starting…');
    try {
      for await (const event of stream(`/knowledge_bases/${enc(base.name)}/reindex`, undefined)) {
        if (event.type === 'progress') {
          bar.set(event.total ? event.done / event.total : 0,
            `${event.current_file}: ${event.done} / ${event.total} chunks`);
        } else if (event.type === 'done') {
          const failed = event.results.filter((r) => r.status === 'failed').length;
          bar.set(1, `Done: ${event.results.length} files${failed ? `, ${failed} failed` : ''}`);
        }
      }
      job.classList.add('finished');
    } catch (error) {
      job.classList.add('failed');
      bar.set(1, `Failed: ${error.message}`);
    }
    await this.refresh(base);
  }

  async refresh(base) {
    if (this.current !== base.name) return;
    await this.loadBases();
    const fresh = this.bases.find((b) => b.name === base.name);
    if (fresh) {
      Object.assign(base, fresh);
      $('.kb-stats', this.detail).textContent =
        `${base.file_count} files · ${base.chunk_count} chunks · embeddings: ${base.embedding_model}`;
    }
    this.renderList();
    await this.loadFiles(base);
  }

  async removeFile(base, file) {
    if (!(await confirmDialog('Delete file?', `${file.name} will be removed from ${base.name} and its index.`))) return;
    try {
      await del(`/knowledge_bases/${enc(base.name)}/files/${enc(file.name)}`);
      toast(`Deleted ${file.name}`);
    } catch (error) {
      toast(`Delete failed: ${error.message}`, 'error');
    }
    await this.refresh(base);
  }

  async remove(base) {
    if (!(await confirmDialog('Delete knowledge base?', `${base.name}, its files and its indexes will be deleted.`))) {
      return;
    }
    try {
      await del(`/knowledge_bases/${enc(base.name)}`);
      toast(`Deleted ${base.name}`);
      location.hash = '#/kb';
    } catch (error) {
      toast(`Delete failed: ${error.message}`, 'error');
    }
  }

  searchBox(base) {
    const query = h('input', { type: 'search', class: 'kb-search-input', placeholder: 'Ask what a chat would ask…',
      'aria-label': 'Search query' });
    const topK = h('input', { type: 'number', min: 1, max: 100, value: 3, class: 'num', 'aria-label': 'Results' });
    // Empty: the route's own threshold, the one a knowledge-base chat uses.
    const threshold = h('input', { type: 'number', min: 0, max: 1, step: 0.01, placeholder: 'auto', class: 'num',
      'aria-label': 'Minimum score' });
    const results = h('div', { class: 'search-results' });
    const run = async (event) => {
      event.preventDefault();
      if (!query.value.trim()) return;
      results.replaceChildren(h('div', { class: 'list-note', text: 'Searching…' }));
      try {
        const request = { query: query.value, top_k: Number(topK.value) || 3 };
        if (threshold.value !== '') request.score_threshold = Number(threshold.value);
        const hits = await post(`/knowledge_bases/${enc(base.name)}/search`, request);
        results.replaceChildren(...(hits.length ? hits.map((hit, i) => h('div', { class: 'hit' },
          h('div', { class: 'hit-head' }, h('span', { class: 'source-index', text: `${i + 1}` }),
            h('span', { class: 'hit-file', text: hit.file + (hit.page ? ` · page ${hit.page}` : '') }),
            h('span', { class: 'source-score', text: `score ${hit.score.toFixed(3)}` })),
          h('p', { class: 'hit-text', text: hit.text })))
          : [h('div', { class: 'list-note', text: 'Nothing relevant found.' })]));
      } catch (error) {
        results.replaceChildren(h('div', { class: 'list-note error', text: `Search failed: ${error.message}` }));
      }
    };
    return h('div', { class: 'kb-search' },
      h('form', { class: 'kb-search-form', onsubmit: run }, query,
        h('label', { class: 'inline small' }, h('span', { text: 'Top' }), topK),
        h('label', { class: 'inline small' }, h('span', { text: 'Min score' }), threshold),
        h('button', { type: 'submit', class: 'btn' }, icon('search', 14), h('span', { text: 'Search' }))),
      results);
  }
}
