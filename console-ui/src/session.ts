import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Session } from './types';

export const SessionContext = createContext<Session | undefined>(undefined);

/** The signed-in person (the app renders no page before it knows them). */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside the signed-in console');
  return session;
}

/** Operators act (replay, disable, capture); viewers only look. */
export function useIsOperator(): boolean {
  return useSession().roles.includes('operator');
}
