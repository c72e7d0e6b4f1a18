// api.ts - calls to the dashboard API: JSON in and out, the CSRF token on every mutation, and errors
// that keep the server's message (which already says what went wrong and what to do).
import type { ApiErrorBody } from './types';

export class ApiError extends Error {
  status: number;
  code: string;
  causes: { field?: string; message?: string }[];
  constructor(status: number, message: string, code = '', causes: { field?: string; message?: string }[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.causes = causes;
  }
}

let csrf = '';
export function setCsrf(token: string): void {
  csrf = token;
}

// Called when an answer says the session is gone (401): the app shows the login page.
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

// The message of a failed answer; an answer that is not ours (a proxy's HTML page) gets a plain one.
export function errorOf(status: number, text: string): ApiError {
  try {
    const body = JSON.parse(text) as ApiErrorBody;
    if (body && body.error && typeof body.error.message === 'string')
      return new ApiError(status, body.error.message, body.error.code || '', body.error.causes || []);
  } catch {
    /* not JSON */
  }
  if (status === 502 || status === 503 || status === 504)
    return new ApiError(status, `the dashboard did not answer (HTTP ${status}): try again in a moment`);
  return new ApiError(status, `unexpected answer (HTTP ${status}) from the dashboard: reload the page`);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'the dashboard cannot be reached: check your connection, then try again');
  }
  const text = await res.text();
  if (!res.ok) {
    const e = errorOf(res.status, text);
    if (res.status === 401) onUnauthorized();
    throw e;
  }
  return (text ? JSON.parse(text) : null) as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body);
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, body);
export const del = <T>(path: string) => api<T>('DELETE', path);

export const appPath = (app: string, rest: string) => `/api/v1/apps/${encodeURIComponent(app)}/${rest}`;
