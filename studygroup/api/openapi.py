"""Spectree: validates the operations' requests and answers against the shapes, and writes
the OpenAPI document from them. Imported with the operations, on the first API request."""

import threading

from spectree import SecurityScheme, SpecTree
from spectree.models import SecureType, SecuritySchemeData

from studygroup.api.errors import check_response, refuse_invalid_request
from studygroup.api.schemas import ErrorBody


class DocumentOnDemand(SpecTree):
    """Spectree writes each model's JSON schema as a view is decorated (every worker, at
    import); here decorating only notes the model, and the schemas are written, in the same
    order, with the document when it is first asked for (once a process, under a lock).
    Validation never reads them. `_add_model` is Spectree's own (private) step:
    tests/test_startup.py checks the document is the one Spectree writes eagerly."""

    def __init__(self, *args, **kwargs):
        self._noted: list[tuple[type, str]] = []
        self._writing = threading.Lock()
        super().__init__(*args, **kwargs)

    def _add_model(self, model, mode="validation") -> str:
        self._noted.append((model, mode))
        return self.naming_strategy(model)

    @property
    def spec(self) -> dict:
        with self._writing:
            if not hasattr(self, "_spec"):
                for model, mode in self._noted:
                    SpecTree._add_model(self, model, mode)
                self._spec = self._generate_spec()
        return self._spec


spec = DocumentOnDemand(
    "flask",
    title="studygroup API",
    version="1",
    description=(
        "Groups, sessions, their roles and head-counts, sign-ups and your schedule. "
        "Authenticate with a personal API token: `Authorization: Bearer <token>`."
    ),
    mode="strict",  # only the operations decorated with spec.validate are in the document
    annotations=True,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    validation_error_status=422,
    validation_error_model=ErrorBody,
    security_schemes=[
        SecurityScheme(
            name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer")
        ),
    ],
    before=refuse_invalid_request,
    after=check_response,
    page_templates={},  # no Swagger/Redoc pages: they load scripts from a CDN
)
