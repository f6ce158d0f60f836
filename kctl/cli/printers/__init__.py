"""kubectl's output formats, reproduced byte for byte.

Users and scripts compare kctl's output with kubectl's, grep it and parse it, so each
format follows what kubectl 1.32 prints, not merely its spirit:

* :mod:`.table` decorates the server's ``meta.k8s.io/v1`` Tables (NAMESPACE, kind
  prefixes, LABELS and ``-L`` columns, watch EVENT column) and lays them out with
  :mod:`.tabwriter`, Go's ``text/tabwriter`` as kubectl configures it;
* :mod:`.yaml` and :mod:`.json` write documents as ``sigs.k8s.io/yaml`` and
  ``encoding/json`` do; :mod:`.name` writes ``deployment.apps/web``;
* :mod:`.jsonpath` is client-go's JSONPath template engine, :mod:`.custom_columns` and
  :mod:`.sorting` (``--sort-by``) are built on it;
* :mod:`.output` parses ``-o`` and hands out the printer for a format, so every verb
  that accepts ``-o`` prints alike; :mod:`.gofmt` holds the Go value formatting they share.

The modules import only the standard library, orjson and ``kctl.cli.errors`` (plus
``kctl.api.quantity`` for sorting); verbs import them inside their command functions.
"""
