/** One failed upstream call, as /status and /support show it. Nothing secret is kept. */
export interface UpstreamErrorRecord {
  /** Unix milliseconds. */
  time: number;
  method: string;
  route: string;
  code: number;
  errorType: string;
  requestId: string | undefined;
  /** The grant the call was for, when its path named one (for /support/{grant_id}). */
  grantId: string | undefined;
  /** The 401 was blamed on the grant or on the API key (see key-health.ts); unset while undecided. */
  blame?: 'grant' | 'key';
  /** The error carried a provider_error (the provider, not Nylas, failed). */
  providerError?: boolean;
}
