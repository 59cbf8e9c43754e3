"""fakegears: a simulator of the MetaDefender IT Access (formerly OPSWAT Gears) cloud API.

Standard library only. Entry points:

- `fakegears.server.start_simulator(SimulatorConfig(...))` - in-process server
- `fakegears.app.create_app(config)` - the WSGI callable
- `python -m fakegears --port 8001` - command line
- `fakegears.data.generate_devices(seed, count)` - the deterministic demo inventory

See fakegears/README.md for endpoints, flags and which behaviours are documented
by the vendor versus inferred.
"""

from __future__ import annotations

__version__ = "0.1.0"
