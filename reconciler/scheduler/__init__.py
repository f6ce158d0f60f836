"""The scheduler: assigns pending pods to nodes through the pods/binding subresource.

queue (active/backoff/unschedulable) -> framework (vectorised filter and score plugins
over columnar node state) -> assume cache -> concurrent bindings. The entry point is
:func:`reconciler.scheduler.controller.new`.
"""

from reconciler.scheduler.controller import NAME, SchedulerController, new

__all__ = ["NAME", "SchedulerController", "new"]
