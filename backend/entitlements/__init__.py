"""Entitlements a person holds after an application (门诊慢特病资格, 异地就医备案): one template
(:mod:`backend.entitlements.template`) specialised by an ``EntitlementSpec`` per type. A new
entitlement type is a spec, its policy in ``config/`` and its workflow definition; a new proof
key is a material key of that definition."""
