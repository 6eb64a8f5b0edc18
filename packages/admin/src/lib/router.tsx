import { type AnchorHTMLAttributes, type MouseEvent, useEffect, useSyncExternalStore } from 'react';

/** A tiny hash router: `#/datasets/ds_1?search=x` → path "/datasets/ds_1", params { search: "x" }. */
export interface Location {
  path: string;
  segments: string[];
  params: URLSearchParams;
}

function read(): string {
  return typeof window === 'undefined' ? '' : window.location.hash;
}

function subscribe(callback: () => void): () => void {
  window.addEventListener('hashchange', callback);
  return () => window.removeEventListener('hashchange', callback);
}

export function parseLocation(hash: string): Location {
  const raw = hash.replace(/^#/, '') || '/';
  const [pathPart = '/', query = ''] = raw.split('?');
  const path = pathPart.startsWith('/') ? pathPart : `/${pathPart}`;
  return {
    path,
    segments: path.split('/').filter(Boolean).map(decodeURIComponent),
    params: new URLSearchParams(query),
  };
}

export function useLocation(): Location {
  const hash = useSyncExternalStore(subscribe, read, () => '');
  return parseLocation(hash);
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const hash = `#${to}`;
  if (options.replace) {
    window.history.replaceState(null, '', hash);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    window.location.hash = to;
  }
}

export function hrefFor(to: string): string {
  return `#${to}`;
}

export function Link({
  to,
  onClick,
  ...rest
}: { to: string } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
  return (
    <a
      href={hrefFor(to)}
      onClick={(event: MouseEvent<HTMLAnchorElement>) => {
        onClick?.(event);
      }}
      {...rest}
    />
  );
}

/** Moves focus to the main heading when the route changes, so keyboard and screen-reader users land on the new page. */
export function useFocusOnRouteChange(path: string): void {
  useEffect(() => {
    const heading = document.querySelector<HTMLElement>('main h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }, [path]);
}
