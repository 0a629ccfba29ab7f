// The demo's web page: plain HTML, CSS and JavaScript in apps/demo/public/ (shipped in the package
// next to dist/), linted and formatted with the rest of the repository, served from disk with no
// build step. The routes are pinned to the IO thread: the page loads while every worker is busy.
import { fileURLToPath } from 'node:url';
import { serveFile, type Router } from '@mummyx/core';

/** The folder holding the page's files: `public/` beside `dist/`. */
export const publicDir = fileURLToPath(new URL('../public/', import.meta.url));

/** URL path → file in `publicDir`. Only these are served: no path from a request reaches the file system. */
export const pageFiles: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/page.css': 'page.css',
  '/page.js': 'page.js',
  '/charts.js': 'charts.js',
};

/** Mounts the page's files on `router`. */
export function mountPage(router: Router): void {
  for (const [path, file] of Object.entries(pageFiles)) {
    router.get(
      path,
      (request) => serveFile(request, `${publicDir}${file}`, { headers: { 'Cache-Control': 'no-cache' } }),
      {
        inline: true,
      },
    );
  }
}
