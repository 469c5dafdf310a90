"""Settings of the fuzz suite.

The default run (``pytest``) fuzzes within a budget that keeps the suite's time in
check; before a release, run it for longer on its own:

    pytest tests/fuzz --hypothesis-profile=long

(the profile is registered here, so name this directory on the command line). Examples
are never saved: a failure prints the example and a ``@reproduce_failure`` blob instead.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

FUZZ = {
    "deadline": None,  # a loaded machine is slow now and then; a hang still fails the run
    "database": None,  # nothing written to .hypothesis/
    "print_blob": True,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
}

# The default run is the same every time (CI must not pass or fail by chance); the long
# run draws anew each time.
settings.register_profile("fuzz", max_examples=1200, derandomize=True, **FUZZ)  # per store
settings.register_profile("long", max_examples=20_000, **FUZZ)  # some minutes per store
