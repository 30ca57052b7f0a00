import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
if not logging.getLogger().handlers:  # the app configured logging already when it runs us
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())

# Every module's models, enabled or not, so autogenerate never proposes to drop a disabled module's
# tables.
from app.modules import import_all_models

import_all_models()
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def render_item(type_, obj, autogen_context):
    """Our own column types (``app....UTCDateTime``) are written with their module imported."""
    if type_ == "type" and type(obj).__module__.startswith("app."):
        autogen_context.imports.add(f"import {type(obj).__module__}")
    return False


def all_heads_for_head(connection):
    """``flask db upgrade`` (and ``flask_migrate.upgrade()``) name ``head``; with one branch per
    module that means every branch's head. Returns the ``fn`` to pass to ``configure``, or None."""
    environment = context._proxy  # the EnvironmentContext: what the command asked of Alembic
    script = environment.script
    original = environment.context_opts.get("fn")
    if (environment.context_opts.get("destination_rev") != "head" or len(script.get_heads()) < 2
            or getattr(original, "__qualname__", "") != "upgrade.<locals>.upgrade"):
        return None
    return lambda rev, _context: script._upgrade_revs("heads", rev)


def adopt(connection):
    """A database of the former single chain gets the branch revisions it stands for."""
    from app.core.migrations import adopt_single_chain

    known = {script.revision for script in context._proxy.script.walk_revisions()}
    heads = adopt_single_chain(connection, known)
    connection.commit()
    if heads is not None:
        logger.info("adopted a single-chain database: alembic_version is now %s", ", ".join(heads) or "empty")


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = dict(current_app.extensions['migrate'].configure_args)  # per run: `fn` may be set below
    conf_args.setdefault("render_item", render_item)
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch migrations rebuild tables; with foreign keys on, dropping the old table would
            # cascade into its children. Off for the migration (a no-op inside a transaction, so now).
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end the autobegun transaction: Alembic must own the next one
        adopt(connection)
        fn = all_heads_for_head(connection)
        if fn is not None:
            conf_args["fn"] = fn
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args
        )

        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
