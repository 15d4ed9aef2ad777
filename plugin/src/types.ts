// Shapes of the Baton JSON API (webhooks/api.py). Ratios arrive rounded to 4 decimals, scores to
// 1 decimal, seconds as integers: the gadgets display these values and never recompute them.

export type Ratio = number | null;

export interface ScoreRow {
  period: string;
  team: string;
  process?: string | null;
  timeliness: Ratio;
  response_timeliness: Ratio;
  quality: Ratio;
  score: number | null;
  resolved: number;
  delivered: number;
  rejected: number;
  ratio_p50?: Ratio;
  ratio_p90?: Ratio;
  rework_hours?: number | null;
  open_at_risk: number;
  open_breached: number;
}

export interface TeamScorecard {
  team: string;
  current: ScoreRow | null;
  trend: ScoreRow[];
}

export interface ScorecardsResponse {
  site: string;
  period: 'week' | 'month';
  process: string | null;
  as_of: string;
  periods: string[];
  current_period: string;
  scorecards: TeamScorecard[];
}

export interface RequestRow {
  issue: string;
  issue_url: string | null;
  process: string | null;
  provider: string;
  requester: string | null;
  kind: string;
  opened_at: string;
  resolved_at: string | null;
  state: string;
  response_state: string;
  resolution_state: string;
  due_at: string | null;
  remaining_s: number | null;
  resolution_elapsed_s: number | null;
  resolution_goal_s: number | null;
}

export interface RequestsResponse {
  site: string;
  as_of: string;
  count: number;
  requests: RequestRow[];
}

export interface MatrixCell {
  requester: string;
  provider: string;
  requests: number;
  resolved?: number;
  timeliness: Ratio;
  rejection_rate: Ratio;
  rejected?: number;
  delivered?: number;
}

export interface MatrixResponse {
  site: string;
  as_of: string;
  requesters: string[];
  providers: string[];
  cells: MatrixCell[];
}

export interface UnmappedRow {
  requester: string | null;
  provider: string | null;
  from_status: string | null;
  to_status: string | null;
  count: number;
  examples: string[];
  last_seen?: string | null;
}

export interface UnmatchedRow {
  project: string | null;
  issue_type: string | null;
  reason: 'no_project' | 'project' | 'issue_type';
  count: number;
  examples: string[];
}

export interface UnmappedResponse {
  site: string;
  as_of: string;
  rows: UnmappedRow[];
  /** Stored issues that match no process (no request is derived from them), per project and issue type. */
  unmatched_issues?: { total: number; rows: UnmatchedRow[] };
}

export interface TeamsResponse {
  site: string;
  teams: string[];
  processes: string[];
  periods: string[];
}

export interface GadgetConfig {
  team?: string;
  process?: string;
  period?: 'week' | 'month';
  refresh?: number;
}
