import fs from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import type { Registry } from '../definitions/registry';
import { openApiDocument } from '../read/openapi/document';
import { syncHeaderParameters } from '../sync/options';

/** The service's version and license for the document; a build copied without package.json still starts. */
function packageInfo(): { version: string; license: string } {
  try {
    // package.json sits two levels up from both src/http and dist/http.
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version?: string; license?: string };
    return { version: pkg.version ?? '0.0.0', license: pkg.license ?? 'UNLICENSED' };
  } catch {
    return { version: '0.0.0', license: 'UNLICENSED' };
  }
}

/** Swagger UI's files, from the swagger-ui-dist package installed with the service: no CDN. */
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'swagger-ui.css',
  'swagger-ui-bundle.js': 'swagger-ui-bundle.js',
  'favicon-32x32.png': 'favicon-32x32.png',
};

/** Same-origin scripts and styles only; Swagger UI styles elements inline and draws icons from data: URLs. */
const VIEWER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bulksync API</title>
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`;

// A file of its own, not an inline script: the Content-Security-Policy allows scripts of this origin only.
const INIT = `window.ui = SwaggerUIBundle({
  url: new URL('openapi.json', window.location.href).href,
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: false
});
`;

export interface OpenApiRouteDeps {
  registry: Registry;
  /** OPENAPI_PUBLIC: the document says its routes need no token (the app mounts them in front of the token check). */
  publicDocs: boolean;
}

/**
 * GET /api/_info/openapi.json (the OpenAPI document, built once: the definitions do not change while the process
 * runs) and GET /api/_info/docs, a Swagger UI viewer of it, with its files.
 */
export function openApiRoutes({ registry, publicDocs }: OpenApiRouteDeps): Router {
  const r = Router();
  const doc = openApiDocument(registry, { ...packageInfo(), publicDocs, syncHeaders: syncHeaderParameters });
  r.get('/api/_info/openapi.json', (_req, res) => {
    res.json(doc);
  });
  r.get('/api/_info/docs', (_req, res) => {
    // The page's relative links resolve against /api/_info/, so the path has no trailing slash.
    res.setHeader('Content-Security-Policy', VIEWER_CSP);
    res.type('html').send(PAGE);
  });
  r.get('/api/_info/docs/init.js', (_req, res) => {
    res.type('js').send(INIT);
  });
  r.get('/api/_info/docs/:file', (req, res, next) => {
    const file = ASSETS[req.params.file];
    if (!file) return next();
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.sendFile(path.join(SWAGGER_UI_DIR, file));
  });
  return r;
}
