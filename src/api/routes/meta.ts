/**
 * Unauthenticated routes: GET /healthz (200 when the database answers,
 * ../shared/spec/interface.md), GET /openapi.json (this API, OpenAPI 3.1) and GET /docs
 * (Swagger UI, its files served from this process: nothing is loaded from a CDN).
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp, RouteContext } from '../app.ts';
import { openApiDocument } from '../app.ts';
import { problem } from '../problems.ts';
import { ProblemSchema } from '../schemas.ts';

/** The Swagger UI files /docs/{file} serves (`init.js` is ours: it points the UI at /openapi.json). */
export const DOCS_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js', 'favicon-32x32.png', 'favicon-16x16.png'] as const;

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>intentmail admin API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: false });\n`;

/** Swagger UI needs inline styles; scripts and everything else come from this origin only. */
const DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

const Health = z.object({ status: z.enum(['ok', 'unavailable']), database: z.boolean() }).openapi('Health');

/** Registers /healthz, /openapi.json, /docs and /docs/{file}. */
export function registerMeta(app: ApiApp, ctx: RouteContext): void {
  const { deps } = ctx;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['meta'],
      summary: 'Health: 200 when the database answers, 503 otherwise',
      responses: {
        200: { description: 'Healthy', content: { 'application/json': { schema: Health } } },
        503: { description: 'The database does not answer', content: { 'application/json': { schema: Health } } },
      },
    }),
    async (c) => {
      const ok = await deps.store.ping().catch(() => false);
      return ok ? c.json({ status: 'ok' as const, database: true }, 200) : c.json({ status: 'unavailable' as const, database: false }, 503);
    },
  );

  let document: ReturnType<typeof openApiDocument> | null = null;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/openapi.json',
      tags: ['meta'],
      summary: 'This API as an OpenAPI 3.1 document',
      responses: { 200: { description: 'The OpenAPI document', content: { 'application/json': { schema: z.looseObject({ openapi: z.string() }) } } } },
    }),
    (c) => {
      document ??= openApiDocument(app);
      return c.json(document as { openapi: string }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/docs',
      tags: ['meta'],
      summary: 'The API documentation (Swagger UI over /openapi.json)',
      responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
    }),
    (c) => c.html(DOCS_PAGE, 200, { 'content-security-policy': DOCS_CSP }),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/docs/{file}',
      tags: ['meta'],
      summary: 'A Swagger UI file',
      request: { params: z.object({ file: z.enum(DOCS_FILES).openapi({ param: { name: 'file', in: 'path' } }) }) },
      responses: {
        200: { description: 'The file', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
        404: { description: 'No such file', content: { 'application/problem+json': { schema: ProblemSchema } } },
      },
    }),
    async (c) => {
      const { file } = c.req.valid('param');
      const headers = { 'cache-control': 'public, max-age=3600', 'content-security-policy': DOCS_CSP };
      if (file === 'init.js') return c.body(DOCS_INIT, 200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' });
      const asset = await deps.docs?.get(file);
      if (!asset) throw problem('not_found', `No documentation file ${file}`);
      return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, { ...headers, 'content-type': asset.type });
    },
  );
}
