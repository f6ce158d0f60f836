"""Server-side apply and field ownership (``metadata.managedFields``), as kube-apiserver does it.

The API server calls :func:`apply` for ``application/apply-patch+yaml`` requests and
:func:`track_update` on every other write; both are pure functions over dicts that take
the kind's :class:`~kctl.api.schema_nav.SchemaNode`. The modules, bottom up:

* :mod:`.fieldpath` field paths and sets, and the FieldsV1 wire form;
* :mod:`.shape` the schema facts of one node, asked once and cached;
* :mod:`.walk` how the schema types an object: field sets, comparisons, list item keys;
* :mod:`.merge` the apply merge, and the removal of fields an applier dropped;
* :mod:`.managed` managedFields entries: identity, order, the cap on updaters;
* :mod:`.conflicts` conflicts and the 409 kubectl prints;
* :mod:`.lastapplied` the client-side to server-side apply handover for kubectl;
* :mod:`.updater` the two entry points.
"""

from kctl.api.apply.conflicts import FIELD_MANAGER_CONFLICT
from kctl.api.apply.fieldpath import (
    FieldSet,
    Path,
    from_fields_v1,
    path_string,
    to_fields_v1,
)
from kctl.api.apply.lastapplied import ANNOTATION as LAST_APPLIED_ANNOTATION
from kctl.api.apply.managed import MAX_UPDATE_MANAGERS
from kctl.api.apply.updater import STRIPPED, apply, default_reset_fields, track_update
from kctl.api.apply.walk import compare, to_field_set

__all__ = [
    "FIELD_MANAGER_CONFLICT",
    "LAST_APPLIED_ANNOTATION",
    "MAX_UPDATE_MANAGERS",
    "STRIPPED",
    "FieldSet",
    "Path",
    "apply",
    "compare",
    "default_reset_fields",
    "from_fields_v1",
    "path_string",
    "to_field_set",
    "to_fields_v1",
    "track_update",
]
