"""Alembic environment for the lineage registry, run programmatically by ``vlaser.lineage.db``.

The caller opens a connection (inside a write transaction) and passes it in
``config.attributes["connection"]``; there is no alembic.ini and no URL here.
"""

from alembic import context

from vlaser.lineage.models import Base

connection = context.config.attributes["connection"]
# render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
