// Who is signed in (from `me`), shared with every view.
import { createContext, useContext } from 'react';
import type { Clients } from './client';

export interface Session {
  role: 'ADMIN' | 'TENANT' | 'ANONYMOUS';
  tenantId: string | null;
  tenantName: string | null;
  clients: Clients;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in console');
  return s;
}

export const isAdmin = (s: Session) => s.role === 'ADMIN';
