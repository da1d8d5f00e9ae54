// SCAFFOLD (issue 4 replaces this): /status, / and /support/{grant_id}.
import { Router } from 'express';
import type { Pollers } from '../pollers/index.js';
import type { RecentErrors } from '../proxy/recent-errors.js';

export interface StatusDeps {
  pollers: Pollers;
  recentErrors: RecentErrors;
}

/** The human-facing admin pages. */
export function createStatusRouter(_deps: StatusDeps): Router {
  return Router();
}
