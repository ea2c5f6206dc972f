import type { AuthUser } from '../core/actor.ts';
import type { AppDeps } from '../deps.ts';

export interface AppVariables {
  deps: AppDeps;
  requestId: string;
  user: AuthUser;
  /** A replacement token chosen by the handler (password change); wins over the sliding refresh. */
  refreshedToken: string | undefined;
}

/** The one environment type of every router and middleware. */
export interface AppEnv {
  Variables: AppVariables;
}
