// Injected into the CommonJS bundles: gives ESM dependencies that read import.meta.url a file URL.
export const importMetaUrl = require('url').pathToFileURL(__filename).href;
