"""Response models: what each operation answers, as documented in the OpenAPI document.

Services answer with typed results (dataclasses, domain objects) or, where not yet converted,
dicts; ``@responds(Model)`` (``handlers.contract``) validates each answer through its model
(from attributes or keys) and sends the model's serialisation, so what is sent is exactly what
the document describes. Fields a service does not set stay absent.

One module a domain; ``base.Out`` is what they all derive from.
"""
