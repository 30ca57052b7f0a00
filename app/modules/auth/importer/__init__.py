"""``flask auth import better-auth SOURCE_URL``: move a better-auth database here, users signed in.

- :mod:`.source` reads a better-auth 1.x database (PostgreSQL, MySQL, SQLite) through SQLAlchemy,
  with its table and column names mapped (camelCase or snake_case, a prefix, a mapping file).
- :mod:`.secrets` opens what better-auth encrypted (``symmetricEncrypt`` with ``BETTER_AUTH_SECRET``
  or versioned ``BETTER_AUTH_SECRETS``) so it can be sealed again with our secret.
- :mod:`.core_tables` and :mod:`.plugin_tables` turn each source row into a row of ours, or a refusal
  with its reason; :mod:`.runner` writes them in batches, idempotently; :mod:`.cli` is the command.
"""
