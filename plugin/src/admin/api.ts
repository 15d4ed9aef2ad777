// The admin page's one way to the service: Forge Remote inside Jira Cloud (`jira:adminPage`), same-origin
// fetch with the HttpOnly session cookie everywhere else (`/admin`, Jira Data Center and standalone).
// The admin token itself never reaches this code: the sign-in form posts it once and the server sets the cookie.
import type {
  DraftReport,
  EditRequest,
  HistoryResponse,
  PreviewResponse,
  PublishResponse,
  Rederive,
  StateResponse,
  StatusesResponse,
  UnmappedAdminResponse,
  VersionResponse,
} from './types';

export class AdminError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }

  /** The service's `hint`: what to do about it (every error body carries one, docs/plugin.md). */
  get hint(): string | null {
    return typeof this.body.hint === 'string' && this.body.hint ? this.body.hint : null;
  }

  /** The message and, when the service gave one, what to do about it. */
  describe(): string {
    return this.hint ? `${sentence(this.message)} ${sentence(capitalised(this.hint))}` : this.message;
  }
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

type Method = 'GET' | 'POST';
export type Transport = (method: Method, path: string, body?: unknown, text?: boolean) => Promise<unknown>;

function fail(status: number, body: unknown): never {
  const b = (body ?? {}) as { message?: string; error?: string };
  throw new AdminError(b.message ?? b.error ?? `HTTP ${status}`, status, (body ?? {}) as Record<string, unknown>);
}

/** `?site=` of the page is passed on (the token / cookie is for the operator; Forge ignores it). */
function withSite(path: string): string {
  const site = new URLSearchParams(location.search).get('site');
  if (!site) return path;
  return path + (path.includes('?') ? '&' : '?') + 'site=' + encodeURIComponent(site);
}

export function httpTransport(): Transport {
  return async (method, path, body, text) => {
    const headers: Record<string, string> = { Accept: text ? 'application/yaml' : 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(new URL(withSite('/api/v1/admin' + path), location.origin).toString(), {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (text && res.ok) return res.text();
    const parsed = await res.json().catch(() => ({}));
    if (!res.ok) fail(res.status, parsed);
    return parsed;
  };
}

type InvokeRemote = (i: { path: string; method: Method; body?: unknown; headers?: Record<string, string> }) => Promise<{ status: number; body?: unknown }>;

export function forgeTransport(invokeRemote: InvokeRemote): Transport {
  return async (method, path, body) => {
    const res = await invokeRemote({
      path: '/api/v1/admin' + path,
      method,
      ...(body === undefined ? {} : { body, headers: { 'Content-Type': 'application/json' } }),
    });
    if (res.status >= 400) fail(res.status, res.body);
    return res.body;
  };
}

export class AdminApi {
  constructor(private readonly call: Transport) {}

  state(): Promise<StateResponse> {
    return this.call('GET', '/state') as Promise<StateResponse>;
  }
  statuses(): Promise<StatusesResponse> {
    return this.call('GET', '/statuses') as Promise<StatusesResponse>;
  }
  unmapped(): Promise<UnmappedAdminResponse> {
    return this.call('GET', '/unmapped') as Promise<UnmappedAdminResponse>;
  }
  validate(yaml: string): Promise<DraftReport> {
    return this.call('POST', '/draft/validate', { yaml }) as Promise<DraftReport>;
  }
  edit(yaml: string, edit: EditRequest): Promise<DraftReport & { yaml: string }> {
    return this.call('POST', '/draft/edit', { yaml, edit }) as Promise<DraftReport & { yaml: string }>;
  }
  preview(yaml: string, period: 'week' | 'month'): Promise<PreviewResponse> {
    return this.call('POST', '/preview', { yaml, period }) as Promise<PreviewResponse>;
  }
  publish(yaml: string, comment: string, baseVersion: number | null): Promise<PublishResponse> {
    return this.call('POST', '/publish', { yaml, comment, base_version: baseVersion }) as Promise<PublishResponse>;
  }
  history(): Promise<HistoryResponse> {
    return this.call('GET', '/history') as Promise<HistoryResponse>;
  }
  version(n: number): Promise<VersionResponse> {
    return this.call('GET', `/versions/${n}`) as Promise<VersionResponse>;
  }
  rollback(n: number, comment: string): Promise<PublishResponse> {
    return this.call('POST', '/rollback', { number: n, comment }) as Promise<PublishResponse>;
  }
  exportYaml(n?: number): Promise<string> {
    return this.call('GET', '/export' + (n ? `?version=${n}` : ''), undefined, true) as Promise<string>;
  }
  rederive(): Promise<Rederive & { site: string }> {
    return this.call('GET', '/rederive') as Promise<Rederive & { site: string }>;
  }
}
