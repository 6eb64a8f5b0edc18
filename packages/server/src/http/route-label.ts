/** Route label for metrics: ids collapsed so label cardinality stays bounded. */
export function routeLabel(path: string): string {
  if (path.startsWith('/trpc/'))
    return `/trpc/${path.slice(6).split(',').length > 1 ? '(batch)' : path.slice(6)}`;
  return path
    .replace(/\/(ds|dsv|sa|prj|job|pi|usr|org|ann)_[a-z0-9]+/g, '/$1_:id')
    .replace(/\/\d+(?=\/|$)/g, '/:n')
    .replace(/^\/(assets|storage\/local)\/.*/, '/$1/*');
}
