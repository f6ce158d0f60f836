"""kctl package."""
