// Display preferences kept in localStorage (not secrets): theme and UTC/local times.
import { createContext, useContext } from 'react';

export type Theme = 'light' | 'dark';

export function initialTheme(): Theme {
  const saved = localStorage.getItem('pulse.console.theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme(t: Theme): void {
  document.documentElement.dataset.theme = t;
  localStorage.setItem('pulse.console.theme', t);
}

export function initialUtc(): boolean {
  return localStorage.getItem('pulse.console.tz') !== 'local';
}

export interface Prefs {
  theme: Theme;
  utc: boolean;
  setTheme(t: Theme): void;
  setUtc(u: boolean): void;
}

export const PrefsContext = createContext<Prefs>({ theme: 'light', utc: true, setTheme() {}, setUtc() {} });
export const usePrefs = () => useContext(PrefsContext);
