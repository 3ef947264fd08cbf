"""Errors the service raises on purpose; the API turns each into a 4xx."""


class ServiceError(Exception):
    """A request the service refuses, with a message that says why."""

    status_code = 400


class NotFoundError(ServiceError):
    status_code = 404


class UnknownModelError(ServiceError):
    status_code = 400


class UnknownPromptError(ServiceError):
    status_code = 400
