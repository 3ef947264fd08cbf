// The service's HTTP API: JSON requests, SSE streams over POST, uploads with
// progress. With API keys on, a 401 asks the person for a key (once; it is
// kept in local storage) and the request is tried again.

import { load, save } from './store.js';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let askForKey = async () => false; // replaced by the page: resolves true once a key is entered
let pendingAsk = null;

export function onKeyNeeded(handler) {
  askForKey = handler;
}

export const apiKey = () => load('api-key', '');
export const setApiKey = (key) => save('api-key', key || undefined);

function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function keyNeeded(message) {
  pendingAsk ||= askForKey(message).finally(() => {
    pendingAsk = null;
  });
  if (!(await pendingAsk)) throw new ApiError(401, message);
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    const text = body.msg || body.error?.message || body.detail;
    return typeof text === 'string' ? text : `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

// fetch with the key; JSON in and out unless `raw` (then the Response).
export async function request(path, { method = 'GET', body, form, signal, raw = false } = {}) {
  for (;;) {
    const headers = authHeaders();
    let payload;
    if (form) payload = form;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(path, { method, headers, body: payload, signal });
    if (response.status === 401) {
      await keyNeeded(await errorMessage(response));
      continue;
    }
    if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
    if (raw) return response;
    return response.status === 204 ? null : response.json();
  }
}

export const get = (path) => request(path);
export const post = (path, body, options = {}) => request(path, { method: 'POST', body, ...options });
export const patch = (path, body) => request(path, { method: 'PATCH', body });
export const del = (path) => request(path, { method: 'DELETE' });

const FRAME_END = /\r\n\r\n|\n\n|\r\r/;

// Complete frames in `buffer`, as parsed JSON, and what is left over.
function takeFrames(buffer) {
  const events = [];
  let match;
  while ((match = FRAME_END.exec(buffer))) {
    const frame = buffer.slice(0, match.index);
    buffer = buffer.slice(match.index + match[0].length);
    const data = frame
      .split(/\r\n|\n|\r/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
    if (!data.length) continue; // a keep-alive comment
    try {
      events.push(JSON.parse(data.join('\n')));
    } catch {
      // Not JSON: not an event of ours.
    }
  }
  return [events, buffer];
}

// The events of an SSE response, as they arrive.
export async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const [events, rest] = takeFrames(buffer + value);
      buffer = rest;
      yield* events;
    }
  } finally {
    reader.releaseLock();
  }
}

export async function* stream(path, body, signal) {
  yield* readEvents(await request(path, { method: 'POST', body, signal, raw: true }));
}

// An answer's events after `after` (its last `seq` shown), live until its `done`.
export async function* answerEvents(messageId, after, signal) {
  const path = `/chat/messages/${encodeURIComponent(messageId)}/events?after=${after}`;
  yield* readEvents(await request(path, { signal, raw: true }));
}

// POST a form with upload progress (fetch cannot report it), reading the SSE reply as it comes.
export function upload(path, form, { onUpload, onEvent }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let seen = 0;
    let buffer = '';
    xhr.open('POST', path);
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => event.lengthComputable && onUpload(event.loaded / event.total);
    const drain = () => {
      if (xhr.status !== 200) return;
      const [events, rest] = takeFrames(buffer + xhr.responseText.slice(seen));
      seen = xhr.responseText.length;
      buffer = rest;
      events.forEach(onEvent);
    };
    xhr.onprogress = drain;
    xhr.onerror = () => reject(new ApiError(0, 'the upload failed: the connection was lost'));
    xhr.onload = async () => {
      if (xhr.status === 401) {
        try {
          await keyNeeded('an API key is needed');
          resolve(await upload(path, form, { onUpload, onEvent }));
        } catch (error) {
          reject(error);
        }
        return;
      }
      if (xhr.status !== 200) {
        let message = `${xhr.status} ${xhr.statusText}`;
        try {
          const body = JSON.parse(xhr.responseText);
          message = body.msg || body.error?.message || message;
        } catch {
          // keep the status line
        }
        reject(new ApiError(xhr.status, message));
        return;
      }
      drain();
      resolve();
    };
    xhr.send(form);
  });
}

// A protected file: fetched with the key, then saved through a blob link.
export async function download(url, fileName) {
  const response = await request(url, { raw: true });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
