// The one way the gadgets get data: Forge Remote inside Jira Cloud, plain fetch everywhere else.
import type {
  GadgetConfig,
  HandoffsResponse,
  MatrixResponse,
  OverviewResponse,
  RequestsResponse,
  ScorecardsResponse,
  TeamsResponse,
  UnmappedResponse,
  VerdictRequest,
  VerdictResponse,
} from './types';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The API's error code (`verdict_refused`, `not_a_member`, ...), when it gave one. */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

type Getter = (path: string) => Promise<unknown>;
/** The one write of the gadgets: a JSON POST (the verdict). */
type Poster = (path: string, body: unknown) => Promise<unknown>;

function failure(status: number, body: unknown, fallback: string): ApiError {
  const b = body as { error?: string; message?: string } | undefined;
  return new ApiError(b?.message ?? b?.error ?? fallback, status, b?.error ?? null);
}

const SHARE_KEY = 'baton.share';

/** A share link's token: from `?share=` (kept for this tab) or from an earlier page of this tab. */
export function shareToken(): string | null {
  const fromUrl = new URLSearchParams(location.search).get('share');
  try {
    if (fromUrl) sessionStorage.setItem(SHARE_KEY, fromUrl);
    return fromUrl ?? sessionStorage.getItem(SHARE_KEY);
  } catch {
    return fromUrl;
  }
}

function apiRoot(): string {
  // `/gadgets/<name>` and `/` both talk to `/api/v1` on the same origin.
  return new URL('/api/v1', location.origin).toString();
}

export function httpGetter(): Getter {
  const token = shareToken();
  return async (path: string) => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (token) headers['X-Baton-Share'] = token;
    const res = await fetch(apiRoot() + path, { headers, credentials: 'same-origin' });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw failure(res.status, body, res.statusText);
    return body;
  };
}

/** Share links are read-only: the service answers a POST from them with 403 `read_only`. */
export function httpPoster(): Poster {
  const token = shareToken();
  return async (path: string, payload: unknown) => {
    const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'application/json' };
    if (token) headers['X-Baton-Share'] = token;
    const res = await fetch(apiRoot() + path, { method: 'POST', headers, credentials: 'same-origin', body: JSON.stringify(payload) });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw failure(res.status, body, res.statusText);
    return body;
  };
}

type InvokeRemote = (i: { path: string; method: 'GET' | 'POST'; body?: unknown; headers?: Record<string, string> }) => Promise<{ status: number; body?: unknown }>;

export function forgePoster(invokeRemote: InvokeRemote): Poster {
  return async (path: string, body: unknown) => {
    const res = await invokeRemote({ path: '/api/v1' + path, method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    if (res.status >= 400) throw failure(res.status, res.body, `HTTP ${res.status}`);
    return res.body;
  };
}

export function forgeGetter(invokeRemote: (i: { path: string; method: 'GET' }) => Promise<{ status: number; body?: unknown }>): Getter {
  return async (path: string) => {
    const res = await invokeRemote({ path: '/api/v1' + path, method: 'GET' });
    if (res.status >= 400) throw failure(res.status, res.body, `HTTP ${res.status}`);
    return res.body;
  };
}

function qs(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The scorecard's and the overview's period: `week` or `month` (the matrix alone has `all`). */
export function scorePeriod(cfg: GadgetConfig): 'week' | 'month' {
  return cfg.period === 'month' ? 'month' : 'week';
}

export class Api {
  private teamsOnce: Promise<TeamsResponse> | null = null;

  constructor(
    private readonly get: Getter,
    private readonly post: Poster | null = null,
  ) {}

  /** Asked once per page: every gadget explains its numbers with the same configuration. */
  teams(): Promise<TeamsResponse> {
    this.teamsOnce ??= (this.get('/teams') as Promise<TeamsResponse>).catch((e) => {
      this.teamsOnce = null;
      throw e;
    });
    return this.teamsOnce;
  }
  scorecards(cfg: GadgetConfig, weeks = 12): Promise<ScorecardsResponse> {
    return this.get(
      '/scorecards' + qs({ team: cfg.team, process: cfg.process, period: scorePeriod(cfg), weeks }),
    ) as Promise<ScorecardsResponse>;
  }
  overview(cfg: GadgetConfig): Promise<OverviewResponse> {
    return this.get('/overview' + qs({ process: cfg.process, period: scorePeriod(cfg) })) as Promise<OverviewResponse>;
  }
  atRisk(cfg: GadgetConfig): Promise<RequestsResponse> {
    return this.get(
      '/requests' + qs({ state: 'at_risk,breached', open: 1, provider: cfg.team, process: cfg.process }),
    ) as Promise<RequestsResponse>;
  }
  pairRequests(requester: string, provider: string, cfg: GadgetConfig): Promise<RequestsResponse> {
    return this.get('/requests' + qs({ requester, provider, process: cfg.process, limit: 50 })) as Promise<RequestsResponse>;
  }
  issueRequests(issue: string): Promise<RequestsResponse> {
    return this.get('/requests' + qs({ issue })) as Promise<RequestsResponse>;
  }
  matrix(cfg: GadgetConfig): Promise<MatrixResponse> {
    return this.get('/handoffs/matrix' + qs({ process: cfg.process, period: cfg.period ?? 'week' })) as Promise<MatrixResponse>;
  }
  handoffs(issue: string): Promise<HandoffsResponse> {
    return this.get(`/issues/${encodeURIComponent(issue)}/handoffs`) as Promise<HandoffsResponse>;
  }
  verdict(body: VerdictRequest): Promise<VerdictResponse> {
    if (!this.post) return Promise.reject(new ApiError('read-only: a verdict needs Jira Cloud', 403, 'read_only'));
    return this.post('/verdicts', body) as Promise<VerdictResponse>;
  }
  unmapped(cfg: GadgetConfig): Promise<UnmappedResponse> {
    return this.get('/handoffs/unmapped' + qs({ process: cfg.process })) as Promise<UnmappedResponse>;
  }
}
