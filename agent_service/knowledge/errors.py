"""Errors of knowledge bases; each carries the HTTP status the API answers with."""

from agent_service.errors import NotFoundError, ServiceError


class InvalidNameError(ServiceError):
    """A knowledge-base or file name that is empty or could leave its folder."""


class KnowledgeBaseExistsError(ServiceError):
    status_code = 409


class KnowledgeBaseNotFoundError(NotFoundError):
    pass


class KnowledgeFileNotFoundError(NotFoundError):
    pass


class EmptyFileError(ServiceError):
    pass


class FileTooLargeError(ServiceError):
    status_code = 413


class EmbeddingModelMismatchError(ServiceError):
    """The knowledge base was built with another embedding model than the one configured."""

    status_code = 409


class EmptyKnowledgeBaseError(ServiceError):
    """A search in a knowledge base that has no indexed chunk."""


class LoaderError(Exception):
    """A file that cannot be read: its upload fails alone, with this message as the reason."""
