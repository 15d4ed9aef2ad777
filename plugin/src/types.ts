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
  /** Mean rating ÷ 5 of the team's rated deliveries; null when nothing is rated. */
  satisfaction?: Ratio;
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

export interface ReasonCount {
  reason: string;
  count: number;
}

export interface TeamScorecard {
  team: string;
  current: ScoreRow | null;
  trend: ScoreRow[];
  /** Rejection reasons (by verdict) of the team's deliveries in the periods shown, most frequent first. */
  reasons?: ReasonCount[];
}

/** The period containing `as_of`: its label and where it starts and ends (UTC instants). */
export interface PeriodWindow {
  label: string;
  start: string;
  end: string;
}

export interface ScorecardsResponse {
  site: string;
  period: 'week' | 'month';
  process: string | null;
  as_of: string;
  timezone: string;
  window: PeriodWindow;
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
  timezone: string;
  count: number;
  requests: RequestRow[];
}

export interface MatrixCell {
  requester: string;
  provider: string;
  requests: number;
  open: number;
  resolved: number;
  timeliness: Ratio;
  rejection_rate: Ratio;
  rejected?: number;
  delivered?: number;
  /** Rejected by a return alone (the issue moved back within the reopen window): no reason. */
  returns?: number;
  /** Rejected by the requester's verdict, per reason, most frequent first (`rejected` = returns + these). */
  rejection_reasons?: ReasonCount[];
}

export interface MatrixResponse {
  site: string;
  as_of: string;
  timezone: string;
  period: 'week' | 'month' | 'all';
  process: string | null;
  window: PeriodWindow | null;
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
  timezone: string;
  rows: UnmappedRow[];
  /** Stored issues that match no process (no request is derived from them), per project and issue type. */
  unmatched_issues?: { total: number; rows: UnmatchedRow[] };
}

export interface TeamsResponse {
  site: string;
  teams: string[];
  processes: string[];
  periods: string[];
  timezone: string;
  weights: { timeliness: number; quality: number; satisfaction?: number | null };
  small_sample: number;
  goals: Goal[];
}

/** One SLA row of the configuration, in working seconds. */
export interface Goal {
  process: string;
  provider: string;
  requester: string | null;
  priority: string[] | null;
  issue_type: string[] | null;
  response_s: number | null;
  resolution_s: number | null;
  rework_s: number | null;
  at_risk: number;
}

export interface OverviewRow {
  rank: number;
  team: string;
  period: string;
  score: number | null;
  timeliness: Ratio;
  response_timeliness: Ratio;
  quality: Ratio;
  resolved: number;
  delivered: number;
  rejected: number;
  open_at_risk: number;
  open_breached: number;
  small_sample: boolean;
  previous_period: string;
  previous_score: number | null;
  score_change: number | null;
}

export interface OverviewResponse {
  site: string;
  period: 'week' | 'month';
  process: string | null;
  as_of: string;
  timezone: string;
  window: PeriodWindow;
  previous_period: string;
  small_sample: number;
  teams: OverviewRow[];
}

export interface GadgetConfig {
  team?: string;
  process?: string;
  /** `all`: the matrix over all time (the scorecard and the overview take `week` then). */
  period?: 'week' | 'month' | 'all';
  refresh?: number;
}

/** One request of an issue's chain (`GET /issues/<key>/handoffs`), with its verdict and, for the caller, whether they may judge it. */
export interface HandoffRow {
  issue: string;
  process: string | null;
  provider: string;
  requester: string | null;
  kind: string;
  opened_at: string;
  first_response_at: string | null;
  resolved_at: string | null;
  outcome: string | null;
  rejected: boolean | null;
  response_elapsed_s: number | null;
  resolution_elapsed_s: number | null;
  response_goal_s: number | null;
  resolution_goal_s: number | null;
  response_state: string;
  resolution_state: string;
  state: string;
  paused: boolean | null;
  customer: string | null;
  verdict: 'accepted' | 'rejected' | 'implicit' | null;
  rating: number | null;
  verdict_reason: string | null;
  verdict_by: string | null;
  verdict_at: string | null;
  verdict_due_at: string | null;
  awaiting_verdict: boolean;
  may_judge: boolean;
  rejection_reasons: string[];
}

export interface HandoffsResponse {
  site: string;
  issue: string;
  issue_id: string;
  issue_url: string | null;
  as_of: string;
  timezone: string;
  read_only: boolean;
  account: string | null;
  handoffs: HandoffRow[];
}

/** The body of `POST /verdicts` (docs/plugin.md, "Verdicts"). */
export interface VerdictRequest {
  issue: string;
  team: string;
  action: 'accept' | 'reject';
  rating?: number;
  reason?: string;
  comment?: string;
}

export interface VerdictResponse {
  site: string;
  id: number;
  issue: string;
  team: string;
  verdict: 'accepted' | 'rejected';
  provider: string;
  seq: number;
  at: string;
  window_ends_at: string;
}
