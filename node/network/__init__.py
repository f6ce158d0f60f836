"""Pod networking of a node: CNI config, bridge, routes, sysctls and the service-CIDR guard.

The pieces are small modules with one job each; :mod:`node.network.manager` puts them
together for the agent (set up, report readiness, keep routes in sync) and
:mod:`node.network.cleanup` undoes them for ``kctl node --cleanup``. Everything the
project creates on the machine carries the ``kctl`` prefix (bridges, iptables chains)
or lives under the node's DATA_DIR or the machine-wide registry (``/run/kctl``).
"""
