"""Model instances from the rows of a plain SQL statement, converted exactly as the ORM converts them.

For the few statements that run on every request or every write (the token with its memberships, the record
about to be corrected under its lock), the SQL is built once from model metadata and the ORM's query
compilation, which costs more than the database's work on such a statement, is skipped.
"""

import functools
from collections.abc import Sequence

from django.db import connection, models


def instance(model: type[models.Model], row: Sequence, start: int = 0) -> models.Model:
    """The `model` instance whose concrete fields are `row[start:]`, in `columns(model)` order."""
    values = list(row[start:start + len(model._meta.concrete_fields)])
    for index, converters, column in _converters(model, connection.vendor):
        for convert in converters:
            values[index] = convert(values[index], column, connection)
    return model.from_db(connection.alias, None, values)


def instances(row: Sequence, *models_read: type[models.Model]) -> list[models.Model]:
    """One instance of each of `models_read`, whose columns follow each other in `row` in that order."""
    found, start = [], 0
    for model in models_read:
        found.append(instance(model, row, start))
        start += len(model._meta.concrete_fields)
    return found


def columns(model: type[models.Model]) -> str:
    """`"table"."column", ...` of every concrete field of `model`, in the order `instance` reads them."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    return ", ".join(f"{table}.{quote(f.column)}" for f in model._meta.concrete_fields)


def column(model: type[models.Model], name: str) -> str:
    """`"table"."column"` of the field `name` of `model`."""
    quote = connection.ops.quote_name
    return f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(name).column)}"


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def _converters(model: type[models.Model], vendor: str) -> list[tuple[int, list, object]]:
    """The database's and the field's converters of each of `model`'s concrete fields that has any."""
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        col = field.get_col(model._meta.db_table)
        converters = [*connection.ops.get_db_converters(col), *field.get_db_converters(connection)]
        if converters:
            found.append((index, converters, col))
    return found
