"""Static files storage for production: hashed names, compressed, and ES-module aware."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Also rewrites `import "./common.js"` inside our ES modules to the hashed names, so a
    long-cached module never loads a stale dependency."""

    support_js_module_import_aggregation = True
