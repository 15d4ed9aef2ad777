// The admin API's shapes (webhooks/http/admin.py).

export interface Version {
  site: string;
  number: number;
  fingerprint: string;
  author: string;
  created_at: string;
  comment: string;
  yaml_text?: string;
}

export interface Rederive {
  version: number | null;
  state: 'pending' | 'running' | 'done' | 'failed';
  done_issues: number;
  total_issues: number;
  error: string | null;
}

export interface StateResponse {
  site: string;
  method: 'token' | 'session' | 'forge';
  author: string;
  read_only: boolean;
  read_only_reason: string | null;
  live: Version | null;
  live_yaml: string | null;
  base_version: number | null;
  rederive: Rederive;
}

export interface JiraStatus {
  id: string;
  name: string;
  category: string | null;
}

export interface StatusesResponse {
  site: string;
  statuses: JiraStatus[];
  available: boolean;
  message: string | null;
}

export interface Problem {
  path: (string | number)[];
  dotted: string;
  line: number | null;
  message: string;
  text: string;
}

export interface OutlineTeam {
  name: string;
  calendar: string;
  queue: string[];
  active: string[];
  keys: { queue: string[]; active: string[] };
}

export interface SlaRow {
  provider: string;
  requester: string | null;
  priority: string[] | null;
  issue_type: string[] | null;
  response_s: number | null;
  resolution_s: number | null;
  rework_s: number | null;
  at_risk: number;
}

export interface OutlineProcess {
  name: string;
  projects: string[];
  issue_types: string[] | null;
  stages: string[] | null;
  handoffs: { from: string; to: string }[];
  pause: string[];
  done: string[] | null;
  reopen_window_s: number;
  at_risk: number;
  unmapped_goal: { response_s: number | null; resolution_s: number | null } | null;
  sla: SlaRow[];
}

export interface Outline {
  teams: OutlineTeam[];
  processes: OutlineProcess[];
  edges: { process: string; from: string; to: string }[];
}

export interface GraphEdge {
  process: string;
  from: string;
  to: string;
  kind: 'routine' | 'unmapped';
  count: number | null;
}

export interface Graph {
  nodes: string[];
  edges: GraphEdge[];
}

export interface DraftReport {
  site: string;
  valid: boolean;
  problems: Problem[];
  outline: Outline | null;
  graph: Graph | null;
}

export type EditRequest =
  | { op: 'make_routine'; process: string; from: string; to: string }
  | { op: 'assign_status'; status: string; team: string | null; role: 'queue' | 'active' | null };

export interface UnmappedAdminRow {
  process: string;
  requester: string | null;
  provider: string;
  from_status: string | null;
  to_status: string | null;
  count: number;
  examples: string[];
  last_seen: string | null;
}

export interface UnmappedAdminResponse {
  site: string;
  rows: UnmappedAdminRow[];
}

export type ScoreRow = Record<string, number | string | null>;

export interface PreviewRowJson {
  period: string;
  team: string;
  process: string | null;
  before: ScoreRow | null;
  after: ScoreRow | null;
}

export interface PairChangeJson {
  process?: string | null;
  requester?: string | null;
  provider?: string | null;
  from_status?: string | null;
  to_status?: string | null;
  count?: number;
  examples?: string[];
  [k: string]: unknown;
}

export interface PreviewResponse {
  site: string;
  period: string;
  issues: number;
  transitions: number;
  requests: { before: number; after: number };
  rows: PreviewRowJson[];
  handoffs_mapped: PairChangeJson[];
  handoffs_unmapped: PairChangeJson[];
  changed_requests: Record<string, unknown>[];
  changed_total: number;
}

export interface PublishResponse {
  site: string;
  version: Version;
}

export interface HistoryResponse {
  site: string;
  versions: Version[];
}

export interface VersionResponse {
  site: string;
  version: Version;
}
