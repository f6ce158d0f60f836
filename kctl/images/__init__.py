"""Container images without Docker: OCI archives written and read by kctl's own code.

``kctl image pack|busybox|load|push`` and the node agent's pause image use this
package. It is pure file-format and wire-protocol code (tar, gzip, JSON, the OCI
distribution API over httpx, one ``ctr`` call for imports): it knows nothing of the
API server or the store.
"""
