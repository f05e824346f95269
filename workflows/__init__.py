"""The case engine: process definitions, the state machine, the working-day calendar and SLA
states. Everything here is pure (no database, no web) so it is tested on its own; the
persistence and the service functions that drive it live in ``backend.cases``."""
